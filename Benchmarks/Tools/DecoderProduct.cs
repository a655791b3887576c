using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Model;

namespace ToyModels.Benchmarks.Tools;

/// <summary>
/// The SIMD backend's dense decoder product alone, z = W_out h + b (an n x m by m x B product), timed over
/// repetitions on the h of one Forward. Benchmarks/compare-sgemm.sh sets it against OpenBLAS sgemm of the same shape.
/// Run: dotnet Benchmarks/bin/Release/net10.0/Benchmarks.dll decoder [--case M] [--reps 15] [--threads 0]
/// </summary>
internal static class DecoderProduct
{
    public static int Run(IEnumerable<string> args)
    {
        var options = new ToolOptions("decoder", args, "--case", "--reps", "--threads");
        var benchCase = BenchCase.Parse(options.String("--case", "M"));
        int reps = options.Int("--reps", 15, 1), threads = options.Int("--threads", 0, 0);
        var config = benchCase.Config();
        using var backend = new SimdBackend(config, threads);
        backend.GenerateBatch(0);
        backend.Forward();
        for (int r = 0; r < 3; r++) backend.Decode(); // the pool's threads up, the pages touched

        var seconds = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            long start = Stopwatch.GetTimestamp();
            backend.Decode();
            seconds[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(seconds);
        double median = reps % 2 == 1 ? seconds[reps / 2] : (seconds[reps / 2 - 1] + seconds[reps / 2]) / 2;
        double flops = 2.0 * config.N * config.M * config.Batch;
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"decoder product of case {benchCase}: {config.N}x{config.M} by {config.M}x{config.Batch} on {backend.Description}"));
        Console.WriteLine(string.Create(c, $"  {reps} repetitions: median {median * 1e3:F2} ms ({flops / median / 1e9:F1} GFLOP/s), best {seconds[0] * 1e3:F2} ms ({flops / seconds[0] / 1e9:F1} GFLOP/s)"));
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["case"] = benchCase.Name, ["n"] = config.N, ["m"] = config.M, ["batch"] = config.Batch, ["device"] = backend.Description,
            ["threads"] = backend.Threads, ["reps"] = reps, ["median_s"] = median, ["best_s"] = seconds[0],
            ["median_gflops"] = Math.Round(flops / median / 1e9, 2), ["best_gflops"] = Math.Round(flops / seconds[0] / 1e9, 2),
        }));
        return 0;
    }
}
