using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Gpu;

namespace ToyModels.Measure.Tools;

/// <summary>
/// A backend's dense decoder product alone, z = W_out h + b (an n x m by m x B product), timed over
/// repetitions on the h of one Forward. On simd it alternates with OpenBLAS sgemm of the same shape in
/// the same process (so both see the same machine) when the library is present (Benchmarks/compare-sgemm.sh
/// adds torch.matmul). On a GPU backend (cuda, opencl, ilgpu-cpu) each repetition queues --inner launches
/// and waits for them, and the time per product is the repetition's over --inner, as
/// Benchmarks/peers/sgemm.py --device cuda times torch.matmul (scripts/gpu/verify.sh runs both).
/// Run: measure decoder [--case M] [--reps 15] [--threads 0] [--backend simd] [--device 0] [--inner 1]
/// </summary>
internal static unsafe class DecoderProduct
{
    /// <summary>Four significant digits: a slow device's rate (0.02 GFLOP/s on a CPU accelerator) stays nonzero.</summary>
    private static double FourDigits(double value) =>
        value == 0 || !double.IsFinite(value) ? value : Math.Round(value, Math.Clamp(3 - (int)Math.Floor(Math.Log10(Math.Abs(value))), 0, 15));

    public static int Run(IEnumerable<string> args)
    {
        var options = new ToolOptions("decoder", args, "--case", "--reps", "--threads", "--backend", "--device", "--inner");
        var benchCase = BenchCase.Parse(options.String("--case", "M"));
        int reps = options.Int("--reps", 15, 1), threads = options.Int("--threads", 0, 0);
        int device = options.Int("--device", 0, 0), inner = options.Int("--inner", 1, 1);
        var kind = BackendFactory.Parse(options.String("--backend", "simd"));
        var config = benchCase.Config();
        using var backend = BackendFactory.Create(kind, config, new BackendOptions(threads, device));
        Action decode = backend switch
        {
            SimdBackend simd when inner == 1 => simd.Decode,
            GpuBackend gpu => () => gpu.Decode(inner),
            SimdBackend => throw new ArgumentException("--inner: simd times one product per repetition (--inner 1)"),
            _ => throw new ArgumentException($"--backend: {BackendFactory.Name(kind)} has no decoder product of its own to time (accepted: simd, cuda, opencl, ilgpu-cpu)"),
        };
        backend.GenerateBatch(0);
        backend.Forward();

        int n = config.N, m = config.M, batch = config.Batch;
        string blasConfig = "not compared on a GPU backend";
        bool blas = backend is SimdBackend && OpenBlas.Available(out blasConfig);
        float* a = null, b = null, c = null;
        if (blas)
        {
            OpenBlas.Threads = ((SimdBackend)backend).Threads;
            a = Random((nint)n * m, 1);
            b = Random((nint)m * batch, 2);
            c = (float*)NativeMemory.AlignedAlloc((nuint)((nint)n * batch * sizeof(float)), 64);
        }
        try
        {
            var engine = new double[reps];
            var sgemm = new double[reps];
            for (int r = -3; r < reps; r++) // three untimed rounds: threads up, pages touched, kernels loaded
            {
                Quiet(blas);
                long start = Stopwatch.GetTimestamp();
                decode();
                if (r >= 0) engine[r] = Stopwatch.GetElapsedTime(start).TotalSeconds / inner;
                if (!blas) continue;
                Quiet(blas);
                start = Stopwatch.GetTimestamp();
                OpenBlas.Multiply(a, b, c, n, batch, m);
                if (r >= 0) sgemm[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            double flops = 2.0 * n * m * batch;
            var c0 = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c0, $"decoder product of case {benchCase}: {n}x{m} by {m}x{batch}, {reps} repetitions{(blas ? " alternating" : "")}{(inner > 1 ? $" of {inner} launches" : "")}"));
            var result = new JsonObject
            {
                ["case"] = benchCase.Name, ["n"] = n, ["m"] = m, ["batch"] = batch, ["backend"] = backend.Name, ["device"] = backend.Description,
                ["reps"] = reps, ["inner"] = inner,
            };
            if (backend is SimdBackend simdBackend) result["threads"] = simdBackend.Threads;
            void Add(string name, string what, double[] seconds)
            {
                Array.Sort(seconds);
                double median = reps % 2 == 1 ? seconds[reps / 2] : (seconds[reps / 2 - 1] + seconds[reps / 2]) / 2;
                Console.WriteLine(string.Create(c0, $"  {what,-40} median {median * 1e3,8:F3} ms ({flops / median / 1e9,8:F1} GFLOP/s), best {seconds[0] * 1e3,8:F3} ms ({flops / seconds[0] / 1e9,8:F1} GFLOP/s)"));
                result[name + "_median_s"] = median;
                result[name + "_best_s"] = seconds[0];
                result[name + "_median_gflops"] = FourDigits(flops / median / 1e9);
                result[name + "_best_gflops"] = FourDigits(flops / seconds[0] / 1e9);
            }
            Add("engine", $"engine ({backend.Description})", engine);
            if (blas)
            {
                Add("sgemm", $"OpenBLAS sgemm ({OpenBlas.Threads} threads)", sgemm);
                result["openblas"] = blasConfig;
                result["ratio"] = Math.Round((double)result["sgemm_median_s"]! / (double)result["engine_median_s"]!, 4); // same FLOP on both sides
            }
            else Console.WriteLine($"  no sgemm: {blasConfig}");
            Console.WriteLine(result.ToJsonString());
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
