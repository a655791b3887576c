using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using ToyModels.Backends.Simd;

namespace ToyModels.Benchmarks.Tools;

/// <summary>
/// The SIMD backend's dense decoder product alone, z = W_out h + b (an n x m by m x B product), timed over
/// repetitions on the h of one Forward, alternating with OpenBLAS sgemm of the same shape in the same process
/// (so both see the same machine), when the library is present. Benchmarks/compare-sgemm.sh adds torch.matmul.
/// Run: dotnet Benchmarks/bin/Release/net10.0/Benchmarks.dll decoder [--case M] [--reps 15] [--threads 0]
/// </summary>
internal static unsafe class DecoderProduct
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

        int n = config.N, m = config.M, batch = config.Batch;
        bool blas = OpenBlas.Available(out string blasConfig);
        float* a = null, b = null, c = null;
        if (blas)
        {
            OpenBlas.Threads = backend.Threads;
            a = Random((nint)n * m, 1);
            b = Random((nint)m * batch, 2);
            c = (float*)NativeMemory.AlignedAlloc((nuint)((nint)n * batch * sizeof(float)), 64);
        }
        try
        {
            var engine = new double[reps];
            var sgemm = new double[reps];
            for (int r = -3; r < reps; r++) // three untimed rounds: threads up, pages touched
            {
                Quiet(blas);
                long start = Stopwatch.GetTimestamp();
                backend.Decode();
                if (r >= 0) engine[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (!blas) continue;
                Quiet(blas);
                start = Stopwatch.GetTimestamp();
                OpenBlas.Multiply(a, b, c, n, batch, m);
                if (r >= 0) sgemm[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            double flops = 2.0 * n * m * batch;
            var c0 = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c0, $"decoder product of case {benchCase}: {n}x{m} by {m}x{batch}, {reps} repetitions alternating"));
            var result = new Dictionary<string, object>
            {
                ["case"] = benchCase.Name, ["n"] = n, ["m"] = m, ["batch"] = batch, ["device"] = backend.Description,
                ["threads"] = backend.Threads, ["reps"] = reps,
            };
            void Add(string name, string what, double[] seconds)
            {
                Array.Sort(seconds);
                double median = reps % 2 == 1 ? seconds[reps / 2] : (seconds[reps / 2 - 1] + seconds[reps / 2]) / 2;
                Console.WriteLine(string.Create(c0, $"  {what,-40} median {median * 1e3,7:F2} ms ({flops / median / 1e9,6:F1} GFLOP/s), best {seconds[0] * 1e3,7:F2} ms ({flops / seconds[0] / 1e9,6:F1} GFLOP/s)"));
                result[name + "_median_s"] = median;
                result[name + "_best_s"] = seconds[0];
                result[name + "_median_gflops"] = Math.Round(flops / median / 1e9, 2);
                result[name + "_best_gflops"] = Math.Round(flops / seconds[0] / 1e9, 2);
            }
            Add("engine", $"engine ({backend.Description})", engine);
            if (blas)
            {
                Add("sgemm", $"OpenBLAS sgemm ({OpenBlas.Threads} threads)", sgemm);
                result["openblas"] = blasConfig;
                result["ratio"] = Math.Round((double)result["engine_median_gflops"] / (double)result["sgemm_median_gflops"], 4);
            }
            else Console.WriteLine($"  no sgemm: {blasConfig}");
            Console.WriteLine(JsonSerializer.Serialize(result));
            return 0;
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
    }

    /// <summary>
    /// Between the two libraries, a pause longer than either one's idle workers spin (the engine's 0.5 ms,
    /// OpenBLAS's about 2^28 cycles), so neither times its product against the other's spinning threads.
    /// </summary>
    private static void Quiet(bool alternating)
    {
        if (alternating) Thread.Sleep(QuietMilliseconds);
    }

    private const int QuietMilliseconds = 200;

    /// <summary>Values in [-0.5, 0.5), 64-byte aligned.</summary>
    private static float* Random(nint count, int seed)
    {
        var values = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var random = new Random(seed);
        for (nint i = 0; i < count; i++) values[i] = random.NextSingle() - 0.5f;
        return values;
    }
}
