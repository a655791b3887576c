using System.Globalization;
using System.Text.Json.Nodes;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;
using ToyModels.Training;

namespace ToyModels.Measure.Tools;

/// <summary>
/// Peak resident memory of a training run against the engine's estimate (<see cref="BackendFactory.EstimateMemory"/>,
/// the figure runs are refused by): prints the estimate part by part, trains a few steps as Samples/Train does (with
/// evaluation), writes a checkpoint into a temporary folder and reads it back into the backend (each timed), and
/// prints the process's peak RSS (VmHWM) after each stage and its ratio to the estimate.
/// Run: measure memory (or dotnet run -c Release --project Benchmarks -- memory) [--case L | --n N --m M --batch B --p P
/// --instances K --tied 0|1] [--backend simd] [--threads 0] [--steps 5] [--eval-samples 8192] [--checkpoint 1]
/// </summary>
internal static class PeakMemory
{
    public static int Run(IEnumerable<string> args)
    {
        var options = new ToolOptions("memory", args, "--case", "--n", "--m", "--batch", "--p", "--instances", "--tied", "--steps", "--threads",
            "--backend", "--eval-samples", "--checkpoint");
        var config = Config(options);
        int steps = options.Int("--steps", 5, 1), threads = options.Int("--threads", 0, 0), evalSamples = options.Int("--eval-samples", 8192, 0);
        bool checkpoint = options.Int("--checkpoint", 1, 0) != 0;
        var kind = BackendFactory.Parse(options.String("--backend", "simd"));
        var backendOptions = new BackendOptions(threads) { HostParts = [.. Trainer.MemoryParts(config, evalSamples)], EvaluationSamples = evalSamples };
        var estimate = BackendFactory.EstimateMemory(kind, config, backendOptions);
        string folder = Directory.CreateTempSubdirectory("toymodels-memory-").FullName;
        var peaks = new List<(string Stage, long Peak)>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using var backend = BackendFactory.Create(kind, config, backendOptions);
            peaks.Add(("backend made", ProcessMemory.Peak()));
            var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = evalSamples });
            var result = trainer.Run(steps);
            peaks.Add(($"{result.Steps} steps ({result.StepsPerSecond:F3}/s), evaluation", ProcessMemory.Peak()));
            if (checkpoint)
            {
                // Written off the backend and read back into it, timed: both stream, so neither adds a copy of the model.
                string path = Path.Combine(folder, "model.safetensors");
                var timer = System.Diagnostics.Stopwatch.StartNew();
                string hash = trainer.Save(path);
                double write = timer.Elapsed.TotalSeconds;
                long size = new FileInfo(path).Length;
                peaks.Add((string.Create(CultureInfo.InvariantCulture, $"checkpoint written ({size / 1e9:F2} GB in {write:F1} s)"), ProcessMemory.Peak()));
                timer.Restart();
                using (var reader = CheckpointReader.Open(path)) trainer.Restore(reader);
                double read = timer.Elapsed.TotalSeconds;
                if (WeightsHash.Of(backend) != hash) throw new InvalidOperationException("the checkpoint read back does not hold the weights written");
                peaks.Add((string.Create(CultureInfo.InvariantCulture, $"checkpoint read back ({read:F1} s)"), ProcessMemory.Peak()));
            }
            Report(config, backend.Description, estimate, peaks, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        return 0;
    }

    private static AutoencoderConfig Config(ToolOptions options)
    {
        var preset = BenchCase.Parse(options.String("--case", "L"));
        int n = options.Int("--n", preset.N, 1), m = options.Int("--m", preset.M, 1), batch = options.Int("--batch", preset.Batch, 1);
        double p = double.Parse(options.String("--p", preset.P.ToString("R", CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        return AutoencoderConfig.Create(n, m, p, tied: options.Int("--tied", 0, 0) != 0, batch: batch,
            instances: options.Int("--instances", 1, 1));
    }

    private static void Report(AutoencoderConfig config, string device, MemoryEstimate estimate, List<(string Stage, long Peak)> peaks, double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        string MiB(long bytes) => string.Create(c, $"{bytes / 1048576.0,10:F1} MiB");
        Console.WriteLine(string.Create(c, $"peak memory of n {config.N}, m {config.M}, B {config.Batch}, p {config.Instances[0].P}, {(config.Tied ? "tied" : "untied")}, " +
            $"{config.InstanceCount} instance(s) on {device}, {seconds:F1} s"));
        foreach (var part in estimate.Parts.Where(p => p.Place == MemoryPlace.Host))
            Console.WriteLine($"  {part.Name,-42} {MiB(part.Bytes)}{(part.Reserved != part.Bytes ? $"   (of {MiB(part.Reserved).Trim()} allocated)" : "")}");
        Console.WriteLine($"  {"estimate",-42} {MiB(estimate.Host)}");
        foreach (var (stage, peak) in peaks)
            Console.WriteLine(string.Create(c, $"  {"peak RSS (VmHWM), " + stage,-42} {MiB(peak)}   = {(double)peak / estimate.Host:F3} x estimate"));
        long final = peaks[^1].Peak;
        var parts = new JsonObject();
        foreach (var part in estimate.Parts) parts[part.Name] = part.Bytes;
        Console.WriteLine(new JsonObject
        {
            ["n"] = config.N, ["m"] = config.M, ["batch"] = config.Batch, ["instances"] = config.InstanceCount, ["tied"] = config.Tied,
            ["device"] = device, ["estimate_bytes"] = estimate.Host, ["peak_bytes"] = final, ["ratio"] = Math.Round((double)final / estimate.Host, 4),
            ["parts"] = parts,
        }.ToJsonString());
    }
}
