using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Phases;
using ToyModels.Measure.Hardware;
using ToyModels.Model;
using ToyModels.Sweeps;
using ToyModels.Training;

namespace ToyModels.Measure.Tools;

/// <summary>
/// A grid's wall time on this machine (the n 512 Persian-rug grid by default), estimated from a measured subset, and
/// the share of the CPU's FMA peak its executed arithmetic reaches.
/// <list type="bullet">
/// <item>Every width with several of its sparsities (default: seven, <see cref="DefaultPIndices"/>) trains alone
/// from step 0 for --early steps on the simd backend, timed; then one evaluation of the grid's eval_samples and the
/// sweep's per-run theory fit are timed.</item>
/// <item>One width's sparsities (--whole-width, default the cheapest; --whole-p-index, default all measured) train
/// through the grid's whole run, timed in --window windows: the ratio of their whole-run mean step time (and FLOP) to
/// their mean over the early steps scales every width's early figure to the whole run (later steps are faster as g_z
/// thins out). A whole run at a large width takes minutes, so a call measures some widths and
/// Benchmarks/rug-grid-estimate.py combines calls, interpolating the factors in m between their whole-run widths.</item>
/// <item>The other sparsities of each width are interpolated linearly in p between the measured ones (a step's
/// sparse work, the encoder, gW_in and the data, grows with the nonzero x, i.e. with p).</item>
/// </list>
/// A sweep trains each width as one pack; per instance a pack runs as fast as a run alone (the packs verb), so the
/// grid's time is the sum of its runs' times. Executed FLOP per step count what the engine computes: the decoder
/// product dense, the encoder and gW_in 2 m per nonzero x (at its expectation p n B), g_h and gW_out 2 m per nonzero
/// g_z or 2 n m B where the plan took the dense product, 7 per output element and 13 per parameter (Adam).
/// Run: dotnet Benchmarks/bin/Release/net10.0/Benchmarks.dll rug [--grid Samples/Sweep/grids/persian-rug-n512.json]
///   [--p-index 0,5,10,12,15,17,19] [--early 400] [--window 500] [--whole-width 0] [--whole-p-index LIST] [--widths all] [--threads 0]
/// </summary>
internal static class RugGridTime
{
    /// <summary>The first steps of a run are left out of its early mean: the plan has no g_z density to go by yet.</summary>
    private const int SkipSteps = 20;

    public static int Run(IEnumerable<string> args)
    {
        var options = new ToolOptions("rug", args, "--grid", "--p-index", "--early", "--window", "--whole-width", "--whole-p-index", "--widths", "--threads");
        string gridPath = options.String("--grid", Path.Combine("Samples", "Sweep", "grids", "persian-rug-n512.json"));
        var grid = SweepGrid.Load(gridPath);
        int early = options.Int("--early", 400, SkipSteps + 1), window = options.Int("--window", 500, 1), threads = options.Int("--threads", 0, 0);
        var widths = grid.Runs.Select(r => r.M).Distinct().Order().ToArray();
        var ps = grid.Runs.Select(r => r.Instance.P).Distinct().Order().ToArray();
        int[] pIndex = Indices(options.String("--p-index", string.Join(",", DefaultPIndices(ps.Length))), ps.Length, "--p-index");
        int wholeWidth = options.Int("--whole-width", 0, 0);
        int[] wholeP = Indices(options.String("--whole-p-index", string.Join(",", pIndex)), ps.Length, "--whole-p-index");
        if (wholeP.Except(pIndex).Any()) throw new ArgumentException("--whole-p-index: indices among --p-index");
        if (wholeWidth >= widths.Length) throw new ArgumentException($"--whole-width: {wholeWidth} is not below the grid's {widths.Length} widths");
        string widthsText = options.String("--widths", "all");
        int[] measured = widthsText == "all" ? Enumerable.Range(0, widths.Length).ToArray() : Indices(widthsText, widths.Length, "--widths");
        long steps = grid.Runs[0].Steps;
        if (grid.Runs.Any(r => r.Steps != steps || r.N != grid.Runs[0].N)) throw new ArgumentException("rug: a grid of one n and one step count");
        var c = CultureInfo.InvariantCulture;
        var backendOptions = new BackendOptions(threads);

        var peak = CpuPeak.Measure(threads, InstructionSets.Best);
        Console.WriteLine(string.Create(c, $"grid '{grid.Name}': {grid.Runs.Count} runs, {widths.Length} widths x {ps.Length} p, {steps} steps, " +
            $"batch {grid.Runs[0].Config.Batch}, eval {grid.Runs[0].EvalSamples}; FMA peak {peak.FmaGflops:F1} GFLOP/s ({peak.Method})"));
        Console.WriteLine(string.Create(c, $"subset: p {string.Join(", ", pIndex.Select(k => ps[k].ToString("G3", c)))} at widths " +
            $"{string.Join(", ", measured.Select(k => widths[k]))}, each alone for {early} steps (mean of steps {SkipSteps}..{early - 1}); " +
            $"width {widths[wholeWidth]} through all {steps} steps"));

        Measured Find(int m, double p) => new(grid.Runs.First(r => r.M == m && r.Instance.P == p));

        // The whole run at the cheapest width: its whole-run mean over its early mean, per measured p.
        // A p without a whole run here has no factor (NaN): its figures are early ones, to be combined with another run's.
        var factor = pIndex.Select(_ => double.NaN).ToArray();
        var flopFactor = pIndex.Select(_ => double.NaN).ToArray();
        var profile = new List<object>();
        // A process's first steps are slow (JIT, the pool's threads, first touch of the runtime's memory): the first whole
        // run's own early mean came out 1.3-1.7 times its width's later early run, so its factor was that much too small.
        // One untimed run of the early steps warms the process before anything is timed.
        using (var warm = Find(widths[wholeWidth], ps[pIndex[0]])) warm.Train(early, early, backendOptions, early);
        foreach (var (k, j) in pIndex.Select((k, j) => (k, j)))
        {
            if (!wholeP.Contains(k)) continue;
            var run = Find(widths[wholeWidth], ps[k]);
            var windows = run.Train(steps, window, backendOptions, early);
            factor[j] = run.Seconds / steps / run.EarlySecondsPerStep;
            flopFactor[j] = run.Flop / steps / run.EarlyFlopPerStep;
            string each = string.Join("  ", windows.Select(w => string.Create(c, $"{w.SecondsPerStep * 1e3:F2} {w.Density:F3} {Short(w.Paths)}")));
            Console.WriteLine(string.Create(c, $"whole run m {run.M} p {run.P:G3}: {run.Seconds / steps * 1e3:F3} ms/step over {steps} steps, " +
                $"early {run.EarlySecondsPerStep * 1e3:F3}: factor {factor[j]:F3}; windows of {window} (ms/step, g_z density, paths): {each}"));
            run.Dispose();
            profile.Add(new { m = run.M, p = run.P, seconds = run.Seconds, early_s_per_step = run.EarlySecondsPerStep, factor = factor[j],
                flop_per_step = run.Flop / steps, early_flop_per_step = run.EarlyFlopPerStep, flop_factor = flopFactor[j], windows });
        }

        // A measured p without a whole run of its own takes its factors linearly in log p between the nearest p that
        // have one (constant beyond them), as Benchmarks/rug-grid-estimate.py does across calls.
        int[] whole = pIndex.Select((k, j) => (k, j)).Where(e => wholeP.Contains(e.k)).Select(e => e.j).ToArray();
        if (whole.Length > 0)
        {
            double[] logs = whole.Select(j => Math.Log(ps[pIndex[j]])).ToArray();
            double[] time = whole.Select(j => factor[j]).ToArray(), work = whole.Select(j => flopFactor[j]).ToArray();
            for (int j = 0; j < pIndex.Length; j++)
                if (!wholeP.Contains(pIndex[j]))
                    (factor[j], flopFactor[j]) = (Between(logs, time, Math.Log(ps[pIndex[j]])), Between(logs, work, Math.Log(ps[pIndex[j]])));
        }

        Console.WriteLine("      m   p        early ms/step  whole-run est.  early GFLOP/step  GFLOP/s   eval s   theory s   g_z density  paths");
        var rows = new List<object>();
        double gridSeconds = 0, gridFlop = 0, subsetSeconds = 0;
        foreach (int w in measured)
        {
            int m = widths[w];
            var perStep = new double[pIndex.Length];
            var flop = new double[pIndex.Length];
            var fixedSeconds = new double[pIndex.Length];
            foreach (var (k, j) in pIndex.Select((k, j) => (k, j)))
            {
                var run = Find(m, ps[k]);
                run.Train(early, early, backendOptions, early);
                (double eval, double theory) = run.Finish();
                subsetSeconds += run.Seconds + eval + theory;
                perStep[j] = run.EarlySecondsPerStep * factor[j];
                flop[j] = run.EarlyFlopPerStep * flopFactor[j];
                fixedSeconds[j] = eval + theory;
                Console.WriteLine(string.Create(c, $"  {m,5} {ps[k],-8:G3} {run.EarlySecondsPerStep * 1e3,13:F3} {perStep[j] * 1e3,14:F3} " +
                    $"{run.EarlyFlopPerStep / 1e9,17:F3} {run.EarlyFlopPerStep / run.EarlySecondsPerStep / 1e9,8:F1} {eval,8:F3} {theory,10:F3} {run.Density,12:F4}  {Short(run.Paths)}"));
                rows.Add(new { m, p = ps[k], early_s_per_step = run.EarlySecondsPerStep, whole_run_s_per_step = perStep[j], early_flop_per_step = run.EarlyFlopPerStep, flop_per_step = flop[j],
                    eval_s = eval, theory_s = theory, density = run.Density, paths = run.Paths.ToString() });
            }
            double widthSeconds = ps.Sum(p => steps * Interpolate(ps, pIndex, perStep, p) + Interpolate(ps, pIndex, fixedSeconds, p));
            double widthFlop = ps.Sum(p => steps * Interpolate(ps, pIndex, flop, p));
            Console.WriteLine(string.Create(c, $"  m {m}: its {ps.Length} runs take an estimated {widthSeconds:F0} s, {widthFlop:E3} FLOP"));
            gridSeconds += widthSeconds;
            gridFlop += widthFlop;
        }
        if (double.IsNaN(gridSeconds))
        {
            Console.WriteLine("no whole run here: combine this call's JSON with others' (Benchmarks/rug-grid-estimate.py)");
            gridSeconds = gridFlop = double.NaN;
        }
        double hours = gridSeconds / 3600;
        string which = measured.Length < widths.Length ? $"the {measured.Length} measured widths of {widths.Length} (all their {ps.Length} p)" : "the whole grid";
        Console.WriteLine(string.Create(c, $"measured subset: {subsetSeconds:F0} s of training, evaluation and fits (plus the whole runs)"));
        Console.WriteLine(string.Create(c, $"estimate for {which}: {hours:F2} h on {Environment.ProcessorCount} cores; executed {gridFlop:E3} FLOP, " +
            $"{gridFlop / gridSeconds / 1e9:F1} GFLOP/s = {gridFlop / gridSeconds / 1e9 / peak.FmaGflops:P1} of the FMA peak; " +
            $"at the FMA peak the executed FLOP take {gridFlop / peak.FmaGflops / 1e9 / 3600:F2} h"));
        var json = new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            grid = grid.Name, runs = grid.Runs.Count, steps, cores = Environment.ProcessorCount, fma_peak_gflops = peak.FmaGflops,
            grid_p = ps, p_measured = pIndex.Select(k => ps[k]).ToArray(), early, whole_width = widths[wholeWidth], profile, rows,
            widths = measured.Select(k => widths[k]).ToArray(), estimate_seconds = gridSeconds, executed_flop = gridFlop,
        }, json));
        return 0;
    }

    /// <summary>
    /// The sparsities measured by default: the sparsest, a quarter and half way along the grid's p, then four spread
    /// over the denser half, where a step's time bends most (n 512, m 128, early steps: 5.2, 6.9, 8.4, 10.1 and 13.4
    /// ms at p 0.026, 0.07, 0.135, 0.26 and 0.5; a straight line from 0.026 to 0.5 is 9-15% low at 0.07, 0.135 and 0.26).
    /// For the rug grid's 20 p: indices 0, 5, 10, 12, 15, 17, 19.
    /// </summary>
    internal static int[] DefaultPIndices(int count)
    {
        if (count <= 3) return Enumerable.Range(0, count).ToArray();
        int half = count / 2, last = count - 1;
        var picks = new List<int> { 0, half / 2, half };
        for (int j = 1; j <= 4; j++) picks.Add(half + (int)Math.Round((last - half) * j / 4.0, MidpointRounding.AwayFromZero));
        return picks.Distinct().Order().ToArray();
    }

    /// <summary>f at <paramref name="p"/>, piecewise linear in p through the measured points (constant beyond them).</summary>
    private static double Interpolate(double[] ps, int[] measured, double[] f, double p) => Between(measured.Select(k => ps[k]).ToArray(), f, p);

    /// <summary>f at x, piecewise linear through (xs, f) with xs ascending, constant beyond the ends.</summary>
    private static double Between(double[] xs, double[] f, double x)
    {
        if (x <= xs[0]) return f[0];
        for (int j = 1; j < xs.Length; j++)
            if (x <= xs[j]) return f[j - 1] + (f[j] - f[j - 1]) * (x - xs[j - 1]) / (xs[j] - xs[j - 1]);
        return f[^1];
    }

    private static string Short(BackwardPaths paths) => paths == BackwardPaths.Fused ? "fused" : $"{paths.Hidden}/{paths.Decoder}".ToLowerInvariant();

    private static int[] Indices(string text, int count, string name)
    {
        var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(t =>
            int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 0 && k < count
                ? k : throw new ArgumentException($"{name}: '{t}' is not an index in 0..{count - 1}")).Distinct().Order().ToArray();
        return values.Length > 0 ? values : throw new ArgumentException($"{name}: an empty list (indices such as 0,10,19)");
    }

    private sealed record Window(long FirstStep, double SecondsPerStep, double Density, BackwardPaths Paths);

    /// <summary>One grid run trained alone from its initialization.</summary>
    private sealed class Measured(SweepRun run) : IDisposable
    {
        private SimdBackend? _backend;
        private long _step;
        private double _earlySeconds, _earlyFlop;
        private int _earlySteps;

        public int M => run.M;
        public double P => run.Instance.P;
        public double Seconds { get; private set; }
        public double Flop { get; private set; }
        public double EarlySecondsPerStep => _earlySeconds / _earlySteps;
        public double EarlyFlopPerStep => _earlyFlop / _earlySteps;
        public double Density => _backend!.GzDensityOf(0);
        public BackwardPaths Paths => _backend!.PathsOf(0);

        /// <summary>Trains <paramref name="steps"/> steps, timed in windows; steps SkipSteps .. early - 1 make the early mean.</summary>
        public List<Window> Train(long steps, int window, BackendOptions options, int early)
        {
            var config = run.Config;
            _backend?.Dispose();
            _backend = (SimdBackend)BackendFactory.Create(BackendKind.Simd, config, options);
            var scalars = new OptimizerScalars(config);
            var windows = new List<Window>();
            double x = run.Instance.P * config.N * config.Batch, windowSeconds = 0, density = 0;
            for (_step = 0; _step < steps; _step++)
            {
                long began = Stopwatch.GetTimestamp();
                _backend.Step(scalars.Set(_step));
                double seconds = Stopwatch.GetElapsedTime(began).TotalSeconds;
                Seconds += seconds;
                windowSeconds += seconds;
                density += Density;
                double flop = StepFlop(config, x, Density * config.N * config.Batch, _backend.EmptySampleGzOf(0), Paths, _backend.DecodedSamplesOf(0));
                Flop += flop;
                if (_step >= SkipSteps && _step < early)
                {
                    _earlySeconds += seconds;
                    _earlyFlop += flop;
                    _earlySteps++;
                }
                if ((_step + 1) % window == 0 || _step + 1 == steps)
                {
                    int count = (int)(_step % window) + 1;
                    windows.Add(new Window(_step + 1 - count, windowSeconds / count, density / count, Paths));
                    (windowSeconds, density) = (0, 0);
                }
            }
            return windows;
        }

        /// <summary>What the sweep does after training a run: the evaluation and the Persian-rug theory's fit, each timed.</summary>
        public (double Eval, double Theory) Finish()
        {
            var clock = Stopwatch.StartNew();
            if (run.EvalSamples > 0) new Trainer(_backend!, new TrainerOptions { EvalSamples = run.EvalSamples }).Evaluate();
            double eval = clock.Elapsed.TotalSeconds;
            clock.Restart();
            PersianRugTheory.Minimize(run.N, run.M, run.Instance.P);
            double theory = clock.Elapsed.TotalSeconds;
            Dispose();
            return (eval, theory);
        }

        public void Dispose() => _backend?.Dispose();

        /// <param name="empty">The nonzero g_z of samples with no active feature, which the sparse g_h walk leaves out, and
        /// whether the sparse gW_out walk left them out too.</param>
        /// <param name="kept">The samples the decoder took when it left out empty ones (whole panels of 64 of them run), or 0 when it took all.</param>
        private static double StepFlop(AutoencoderConfig config, double nonzeroX, double nonzeroGz, (long Nonzero, bool DecoderSkips) empty,
            BackwardPaths paths, int kept)
        {
            double n = config.N, m = config.M, b = config.Batch, dense = 2 * n * m * b;
            double decode = kept > 0 ? 2 * n * m * Workspace.RoundUp(kept, Workspace.Tile) : dense;
            double hidden = paths.Hidden == HiddenGradient.Dense ? dense : 2 * m * (nonzeroGz - empty.Nonzero);
            double decoder = paths.Decoder == DecoderGradient.Dense ? dense : 2 * m * (nonzeroGz - (empty.DecoderSkips ? empty.Nonzero : 0));
            return decode + 4 * m * nonzeroX + hidden + decoder + 7 * b * n + 13 * (double)config.Layout.Total;
        }
    }
}
