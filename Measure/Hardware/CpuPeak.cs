using System.Diagnostics;
using System.Runtime.Intrinsics;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Measure.Hardware;

/// <summary>
/// The CPU's peaks in C#: independent FMA chains in the widest vectors the SIMD backend uses, on every
/// thread at once; and a streaming read of a buffer far larger than the caches, split across threads.
/// </summary>
internal static class CpuPeak
{
    /// <summary>
    /// Independent accumulators per thread: enough to cover the FMA latency (4-5 cycles) on two FMA
    /// ports, few enough to stay in 16 vector registers.
    /// </summary>
    private const int Chains = 10;
    private const int BandwidthFloats = 64 << 20; // 256 MiB

    public static Peak Measure(int threads, InstructionSet set)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        int lanes = (int)set;
        // Calibrate to about 0.15 s per run, then keep the best of five (the machine may be shared).
        long iterations = 1 << 16;
        double seconds;
        while ((seconds = Parallel(threads, _ => Fma(set, iterations))) < 0.15) iterations *= 2;
        for (int r = 0; r < 4; r++) seconds = Math.Min(seconds, Parallel(threads, _ => Fma(set, iterations)));
        double gflops = threads * (double)iterations * Chains * lanes * 2 / seconds / 1e9;

        var buffer = GC.AllocateUninitializedArray<float>(BandwidthFloats);
        System.Threading.Tasks.Parallel.For(0, threads, t => buffer.AsSpan(Slice(t, threads)).Fill(1f));
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++) best = Math.Min(best, Parallel(threads, t => Sum(buffer.AsSpan(Slice(t, threads)))));
        double gbps = (double)BandwidthFloats * sizeof(float) / best / 1e9;
        return new Peak(gflops, gbps, $"C#: {Chains} FMA chains of {InstructionSets.Name(set)} ({lanes} lanes) per thread, " +
            $"{threads} threads; bandwidth: vector sum of {BandwidthFloats * 4L >> 20} MiB on {threads} threads");
    }

    private static Range Slice(int t, int threads)
    {
        long per = BandwidthFloats / threads;
        return new Range((int)(t * per), t == threads - 1 ? BandwidthFloats : (int)((t + 1) * per));
    }

    /// <summary>Runs <paramref name="work"/> on <paramref name="threads"/> dedicated threads started together; the wall time in seconds.</summary>
    private static double Parallel(int threads, Func<int, float> work)
    {
        using var start = new Barrier(threads + 1);
        var sink = new float[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            sink[t] = work(t);
        }) { IsBackground = true }).ToArray();
        foreach (var w in workers) w.Start();
        start.SignalAndWait();
        var clock = Stopwatch.StartNew();
        foreach (var w in workers) w.Join();
        double seconds = clock.Elapsed.TotalSeconds;
        GC.KeepAlive(sink);
        return seconds;
    }

    private static float Fma(InstructionSet set, long iterations) => set switch
    {
        InstructionSet.Avx512 => Fma<Vector512<float>, Vector512Lanes>(iterations),
        InstructionSet.Avx2 => Fma<Vector256<float>, Vector256Lanes>(iterations),
        InstructionSet.Sse => Fma<Vector128<float>, Vector128Lanes>(iterations),
        _ => Fma<float, ScalarLanes>(iterations),
    };

    // x = x * a + b converges to b / (1 - a) = 1: finite, never denormal.
    private const float A = 0.999f, B = 0.001f;

    /// <summary><see cref="Chains"/> independent FMA chains in the SIMD backend's own lane type, written once for every width.</summary>
    private static float Fma<TVec, TLanes>(long iterations) where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        TVec a = TLanes.Broadcast(A), b = TLanes.Broadcast(B);
        TVec x0 = TLanes.Broadcast(0.1f), x1 = TLanes.Broadcast(0.2f), x2 = TLanes.Broadcast(0.3f), x3 = TLanes.Broadcast(0.4f),
            x4 = TLanes.Broadcast(0.5f), x5 = TLanes.Broadcast(0.6f), x6 = TLanes.Broadcast(0.7f), x7 = TLanes.Broadcast(0.8f),
            x8 = TLanes.Broadcast(0.9f), x9 = TLanes.Broadcast(1.1f);
        for (long i = 0; i < iterations; i++)
        {
            x0 = TLanes.Fma(x0, a, b); x1 = TLanes.Fma(x1, a, b); x2 = TLanes.Fma(x2, a, b); x3 = TLanes.Fma(x3, a, b);
            x4 = TLanes.Fma(x4, a, b); x5 = TLanes.Fma(x5, a, b); x6 = TLanes.Fma(x6, a, b); x7 = TLanes.Fma(x7, a, b);
            x8 = TLanes.Fma(x8, a, b); x9 = TLanes.Fma(x9, a, b);
        }
        TVec total = TLanes.Add(TLanes.Add(TLanes.Add(TLanes.Add(x0, x1), TLanes.Add(x2, x3)), TLanes.Add(TLanes.Add(x4, x5), TLanes.Add(x6, x7))), TLanes.Add(x8, x9));
        float sum = 0f;
        for (int l = 0; l < TLanes.Count; l++) sum += TLanes.Lane(total, l);
        return sum;
    }

    private static float Sum(ReadOnlySpan<float> values)
    {
        var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector256<float>>(values);
        var s0 = Vector256<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
        int i = 0;
        for (; i + 4 <= vectors.Length; i += 4)
        {
            s0 += vectors[i];
            s1 += vectors[i + 1];
            s2 += vectors[i + 2];
            s3 += vectors[i + 3];
        }
        for (; i < vectors.Length; i++) s0 += vectors[i];
        float sum = Vector256.Sum(s0 + s1 + s2 + s3);
        for (int e = vectors.Length * 8; e < values.Length; e++) sum += values[e];
        return sum;
    }
}
