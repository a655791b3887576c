using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.Measure.Tools;

/// <summary>
/// Big packs: per-instance throughput of K models trained as one packed run against one model trained alone, for
/// each K in one process. One model is first trained alone for the warm-up steps, until g_z has its steady-state
/// density and the step its steady speed (about 1500 steps at case S and 300 at M, the defaults). For each K its
/// parameters and optimizer state are copied into every instance of the pack, instance s drawing its own data
/// (seed s), and into the run alone, which restarts from them so that both train from the same point. For each K the two alternate in pairs of
/// chunks of the same work (c steps of the pack, K c steps alone, each about --seconds long), so that both see
/// the same machine; the ratio of a pair is the pack's instance-steps/s over the alone run's, and the table gives
/// medians over the pairs (K = 1 packs a fresh copy of the same model: its ratio shows the method's noise).
/// Run: dotnet Benchmarks/bin/Release/net10.0/Benchmarks.dll packs [--case S] [--k 1,4,8,16,20,32,64]
///   [--warmup 1500 (S), 300 (M)] [--seconds 1] [--pairs 5] [--threads 0] [--backend simd]
/// </summary>
internal static class PackScaling
{
    private const int SettleSteps = 2;

    public static int Run(IEnumerable<string> args)
    {
        var options = new ToolOptions("packs", args, "--case", "--k", "--warmup", "--seconds", "--pairs", "--threads", "--backend");
        var benchCase = BenchCase.Parse(options.String("--case", "S"));
        int[] packs = ParseList(options.String("--k", "1,4,8,16,20,32,64"));
        int warmup = options.Int("--warmup", benchCase == BenchCase.Small ? 1500 : 300, 0), pairs = options.Int("--pairs", 5, 1), threads = options.Int("--threads", 0, 0);
        string secondsText = options.String("--seconds", "1");
        if (!double.TryParse(secondsText, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0))
            throw new ArgumentException($"--seconds: '{secondsText}' is not a positive number of seconds");
        var kind = BackendFactory.Parse(options.String("--backend", "simd"));
        var backendOptions = new BackendOptions(threads);
        var c = CultureInfo.InvariantCulture;

        var single = benchCase.Config();
        using var alone = BackendFactory.Create(kind, single, backendOptions);
        var aloneScalars = new OptimizerScalars(single);
        long aloneStep = 0;
        while (aloneStep < warmup) alone.Step(aloneScalars.Set(aloneStep++));
        long warm = aloneStep;
        var clock = Stopwatch.StartNew();
        while (aloneStep < warm + 3 || clock.Elapsed.TotalSeconds < 0.5) alone.Step(aloneScalars.Set(aloneStep++));
        double singleRate = (aloneStep - warm) / clock.Elapsed.TotalSeconds;
        var parameters = new float[single.Layout.Total];
        var state = new float[single.Optimizer.StateSlots * single.Layout.Total];
        alone.GetParameters(parameters);
        alone.GetOptimizerState(state);
        long start = aloneStep;
        Console.WriteLine(string.Create(c, $"big packs of case {benchCase} on {alone.Description}, {Environment.ProcessorCount} cores: " +
            $"{pairs} pairs of about {seconds:G3} s chunks per K, from one model's state after {aloneStep} steps (warm-up {warmup})"));
        Console.WriteLine("      K  steps/chunk   alone  packed  instance-steps/s (medians)   ratio (median of pairs)   pair ratios");
        var rows = new List<Dictionary<string, object>>();
        foreach (int k in packs)
        {
            var config = benchCase.Config(k);
            using var packed = BackendFactory.Create(kind, config, backendOptions);
            Load(packed, k, parameters, state);
            Load(alone, 1, parameters, state);
            var scalars = new OptimizerScalars(config);
            long step = aloneStep = start;
            for (int t = 0; t < SettleSteps; t++)
            {
                packed.Step(scalars.Set(step++));
                alone.Step(aloneScalars.Set(aloneStep++));
            }
            int chunk = Math.Max(1, (int)Math.Round(seconds * singleRate / k));
            var aloneRates = new double[pairs];
            var packedRates = new double[pairs];
            var ratios = new double[pairs];
            for (int pair = 0; pair < pairs; pair++)
            {
                long began = Stopwatch.GetTimestamp();
                for (int t = 0; t < chunk * k; t++) alone.Step(aloneScalars.Set(aloneStep++));
                aloneRates[pair] = (double)chunk * k / Stopwatch.GetElapsedTime(began).TotalSeconds;
                began = Stopwatch.GetTimestamp();
                for (int t = 0; t < chunk; t++) packed.Step(scalars.Set(step++));
                packedRates[pair] = (double)chunk * k / Stopwatch.GetElapsedTime(began).TotalSeconds;
                ratios[pair] = packedRates[pair] / aloneRates[pair];
            }
            double ratio = Median(ratios);
            Console.WriteLine(string.Create(c, $"  {k,5} {chunk,11} {Median(aloneRates),8:F2} {Median(packedRates),7:F2} {"",28} {ratio,8:F3} {"",16} {string.Join(" ", ratios.Select(r => r.ToString("F3", c)))}"));
            rows.Add(new Dictionary<string, object>
            {
                ["k"] = k, ["chunk_steps"] = chunk, ["alone"] = aloneRates.Select(r => Math.Round(r, 3)).ToArray(),
                ["packed"] = packedRates.Select(r => Math.Round(r, 3)).ToArray(), ["ratio"] = Math.Round(ratio, 4),
            });
        }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["case"] = benchCase.Name, ["n"] = single.N, ["m"] = single.M, ["p"] = benchCase.P, ["batch"] = single.Batch, ["device"] = alone.Description,
            ["warmup"] = warmup, ["pairs"] = pairs, ["packs"] = rows,
        }));
        return 0;
    }

    /// <summary>Every instance of <paramref name="packed"/> set to the one model's parameters and optimizer state.</summary>
    private static void Load(IBackend packed, int k, float[] parameters, float[] state)
    {
        int per = parameters.Length, slots = packed.Config.Optimizer.StateSlots;
        var all = new float[(long)k * per];
        for (int s = 0; s < k; s++) parameters.CopyTo(all, (long)s * per);
        packed.SetParameters(all);
        all = new float[(long)slots * k * per];
        for (int slot = 0; slot < slots; slot++)
            for (int s = 0; s < k; s++) Array.Copy(state, (long)slot * per, all, ((long)slot * k + s) * per, per);
        packed.SetOptimizerState(all);
    }

    private static int[] ParseList(string text)
    {
        var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(t =>
            int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 1
                ? k : throw new ArgumentException($"--k: '{t}' is not an integer >= 1 (a list such as 1,4,16,64)")).ToArray();
        return values.Length > 0 ? values : throw new ArgumentException("--k: an empty list (a list such as 1,4,16,64)");
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
