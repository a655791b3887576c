using System.Diagnostics;
using ToyModels.Backends.Cuda;
using ToyModels.Backends.Device;
using ToyModels.Backends.Kernels;
using ToyModels.Backends.OpenCl;

namespace ToyModels.Benchmarks.Hardware;

/// <summary>
/// A GPU's (or any OpenCL device's) peaks, from two small kernels of its own written in the engine's
/// kernel dialect (so the same text builds for OpenCL and CUDA): <c>peak_fma</c> runs 8 independent
/// FMA chains per work-item on enough work-items to fill the device; <c>peak_copy</c> copies a large
/// buffer, one float per work-item, and counts the bytes read and written.
/// </summary>
internal static class DevicePeak
{
    public const string Source = """
        #define PEAK_CHAINS 8

        /* x = x * a + b converges to b / (1 - a): finite, never denormal. */
        KERNEL void peak_fma(GLOBAL float* RESTRICT out, u32 groupSize, u32 iterations, float a, float b)
        {
            u32 id = GROUP_ID * groupSize + LOCAL_ID;
            float start = (float)(id & 1023u) * 0.0001f;
            float x0 = start, x1 = start + 0.1f, x2 = start + 0.2f, x3 = start + 0.3f;
            float x4 = start + 0.4f, x5 = start + 0.5f, x6 = start + 0.6f, x7 = start + 0.7f;
            for (u32 i = 0; i < iterations; i++)
            {
                x0 = FMA(x0, a, b); x1 = FMA(x1, a, b); x2 = FMA(x2, a, b); x3 = FMA(x3, a, b);
                x4 = FMA(x4, a, b); x5 = FMA(x5, a, b); x6 = FMA(x6, a, b); x7 = FMA(x7, a, b);
            }
            out[id] = FADD(FADD(FADD(x0, x1), FADD(x2, x3)), FADD(FADD(x4, x5), FADD(x6, x7)));
        }

        KERNEL void peak_copy(GLOBAL const float* RESTRICT source, GLOBAL float* RESTRICT destination, u32 groupSize, u32 count)
        {
            u32 id = GROUP_ID * groupSize + LOCAL_ID;
            if (id < count) destination[id] = source[id];
        }
        """;

    /// <summary>
    /// OpenCL only: the same chains in float8, for CPU devices (POCL) whose compilers do not turn the
    /// scalar chains of neighbouring work-items into vector instructions. The better of the two counts.
    /// </summary>
    public const string OpenClVectorSource = """
        KERNEL void peak_fma_vector(GLOBAL float* RESTRICT out, u32 groupSize, u32 iterations, float a, float b)
        {
            u32 id = GROUP_ID * groupSize + LOCAL_ID;
            float8 va = (float8)(a), vb = (float8)(b);
            float8 x0 = (float8)((float)(id & 1023u) * 0.0001f, 0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f);
            float8 x1 = x0 + 0.1f, x2 = x0 + 0.2f, x3 = x0 + 0.3f, x4 = x0 + 0.4f, x5 = x0 + 0.5f, x6 = x0 + 0.6f, x7 = x0 + 0.7f;
            for (u32 i = 0; i < iterations; i++)
            {
                x0 = fma(x0, va, vb); x1 = fma(x1, va, vb); x2 = fma(x2, va, vb); x3 = fma(x3, va, vb);
                x4 = fma(x4, va, vb); x5 = fma(x5, va, vb); x6 = fma(x6, va, vb); x7 = fma(x7, va, vb);
            }
            float8 s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
            out[id] = ((s.s0 + s.s1) + (s.s2 + s.s3)) + ((s.s4 + s.s5) + (s.s6 + s.s7));
        }
        """;

    private const int Chains = 8;

    /// <summary>The peaks of OpenCL device <paramref name="device"/>: a program of its own, in a context of its own.</summary>
    public static Peak MeasureOpenCl(OpenClDeviceInfo device)
    {
        using var program = OpenClProgram.Build(device, KernelSource.OpenClPreamble + "\n" + Source + "\n" + OpenClVectorSource);
        using var compute = new OpenClDevice(program);
        int workItems = Math.Max(1, device.ComputeUnits) * 2048;
        long copyBytes = Math.Min(256L << 20, device.MaxAllocationBytes / 2);
        var peak = Measure(compute, workItems, copyBytes, $"OpenCL kernels: {Chains} FMA chains per work-item on {workItems} work-items; copy of {copyBytes >> 20} MiB");
        using var vector = compute.Kernel("peak_fma_vector");
        double vectorGflops = MeasureFma(compute, vector, workItems, lanes: 8);
        return vectorGflops > peak.FmaGflops
            ? peak with { FmaGflops = vectorGflops, Method = $"OpenCL kernels: {Chains} float8 FMA chains per work-item on {workItems} work-items; copy of {copyBytes >> 20} MiB" }
            : peak;
    }

    /// <summary>The peaks of CUDA device <paramref name="device"/>, with the kernels compiled by NVRTC.</summary>
    public static Peak MeasureCuda(CudaDeviceInfo device)
    {
        var program = CudaProgram.Load(device, KernelSource.CudaPreamble + "\n" + Source, CubinCache.Default());
        using var compute = new CudaDevice(program);
        int workItems = Math.Max(1, device.Multiprocessors) * 2048;
        long copyBytes = Math.Min(1L << 30, device.MemoryBytes / 4);
        return Measure(compute, workItems, copyBytes, $"CUDA kernels: {Chains} FMA chains per thread on {workItems} threads; copy of {copyBytes >> 20} MiB");
    }

    /// <summary>GFLOP/s of an FMA kernel: calibrated to about 0.15 s a launch, the best of three.</summary>
    private static double MeasureFma(IComputeDevice device, DeviceKernel fma, int workItems, int lanes)
    {
        int group = Math.Min(256, fma.MaxGroupSize);
        long groups = (workItems + group - 1) / group;
        using var output = device.Allocate(groups * group * sizeof(float));
        var sink = new byte[sizeof(float)];
        double RunFma(uint iterations)
        {
            var clock = Stopwatch.StartNew();
            device.Launch(fma, groups, 1, group, [output, group, iterations, 0.999f, 0.001f]);
            device.Read(output, 0, sink);
            return clock.Elapsed.TotalSeconds;
        }
        uint iterations = 256;
        RunFma(iterations); // first launch
        double seconds;
        while ((seconds = RunFma(iterations)) < 0.15 && iterations < 1u << 30) iterations *= 2;
        for (int r = 0; r < 2; r++) seconds = Math.Min(seconds, RunFma(iterations));
        return groups * group * (double)iterations * Chains * lanes * 2 / seconds / 1e9;
    }

    private static Peak Measure(IComputeDevice device, int workItems, long copyBytes, string method)
    {
        using var fma = device.Kernel("peak_fma");
        using var copy = device.Kernel("peak_copy");
        double gflops = MeasureFma(device, fma, workItems, lanes: 1);
        var sink = new byte[sizeof(float)];

        int copyGroup = Math.Min(256, copy.MaxGroupSize);
        int count = (int)Math.Min(copyBytes / sizeof(float), int.MaxValue - 1024);
        long copyGroups = (count + copyGroup - 1) / copyGroup;
        using var source = device.Allocate((long)count * sizeof(float));
        using var destination = device.Allocate((long)count * sizeof(float));
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            var clock = Stopwatch.StartNew();
            device.Launch(copy, copyGroups, 1, copyGroup, [source, destination, copyGroup, count]);
            device.Read(destination, 0, sink);
            if (r > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        double gbps = 2.0 * count * sizeof(float) / best / 1e9;
        return new Peak(gflops, gbps, method);
    }
}
