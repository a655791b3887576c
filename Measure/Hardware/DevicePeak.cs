using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;
using ToyModels.Gpu;
using ToyModels.Gpu.Devices;

namespace ToyModels.Measure.Hardware;

internal struct PeakFmaArguments
{
    public ArrayView<float> Output;
    public int Iterations;
    public float A, B;
}

internal struct PeakCopyArguments
{
    public ArrayView<float> Source, Destination;
    public int Count;
}

/// <summary>
/// A GPU's peaks from two small kernels of its own, written with the engine's exact operations and run
/// through ILGPU like the training kernels: <see cref="Fma"/> runs 8 independent FMA chains per
/// work-item on enough work-items to fill the device; <see cref="Copy"/> copies a large buffer, one
/// float per work-item, counting the bytes read and written.
/// </summary>
internal static class DevicePeak
{
    private const int Chains = 8;
    private const int Group = 256;

    /// <summary>x = fma(x, a, b) converges to b / (1 - a): finite, never denormal.</summary>
    public static void Fma(PeakFmaArguments p)
    {
        int id = Grid.GlobalIndex.X;
        float start = Exact.Mul((float)(id & 1023), 0.0001f);
        float x0 = start, x1 = Exact.Add(start, 0.1f), x2 = Exact.Add(start, 0.2f), x3 = Exact.Add(start, 0.3f);
        float x4 = Exact.Add(start, 0.4f), x5 = Exact.Add(start, 0.5f), x6 = Exact.Add(start, 0.6f), x7 = Exact.Add(start, 0.7f);
        for (int i = 0; i < p.Iterations; i++)
        {
            x0 = Exact.Fma(x0, p.A, p.B); x1 = Exact.Fma(x1, p.A, p.B); x2 = Exact.Fma(x2, p.A, p.B); x3 = Exact.Fma(x3, p.A, p.B);
            x4 = Exact.Fma(x4, p.A, p.B); x5 = Exact.Fma(x5, p.A, p.B); x6 = Exact.Fma(x6, p.A, p.B); x7 = Exact.Fma(x7, p.A, p.B);
        }
        p.Output[id] = Exact.Add(Exact.Add(Exact.Add(x0, x1), Exact.Add(x2, x3)), Exact.Add(Exact.Add(x4, x5), Exact.Add(x6, x7)));
    }

    public static void Copy(PeakCopyArguments p)
    {
        int id = Grid.GlobalIndex.X;
        if (id < p.Count) p.Destination[id] = p.Source[id];
    }

    /// <summary>The peaks of an opened device (<see cref="GpuDevices"/>), with the device to itself.</summary>
    public static Peak Measure(GpuDevice device)
    {
        lock (device.Sync)
        {
            var accelerator = device.Accelerator;
            accelerator.Bind();
            var fma = Load<PeakFmaArguments>(device, Fma);
            var copy = Load<PeakCopyArguments>(device, Copy);
            using var stream = accelerator.CreateStream();
            int workItems = Math.Max(1, accelerator.NumMultiprocessors) * 2048;
            long groups = (workItems + Group - 1) / Group;
            using var output = accelerator.Allocate1D<float>(groups * Group);
            double RunFma(int iterations)
            {
                var clock = Stopwatch.StartNew();
                fma(stream, new KernelConfig((int)groups, Group), new PeakFmaArguments { Output = output.View, Iterations = iterations, A = 0.999f, B = 0.001f });
                stream.Synchronize();
                return clock.Elapsed.TotalSeconds;
            }
            int iterations = 256;
            RunFma(iterations); // first launch
            double seconds;
            while ((seconds = RunFma(iterations)) < 0.15 && iterations < 1 << 30) iterations *= 2;
            for (int r = 0; r < 2; r++) seconds = Math.Min(seconds, RunFma(iterations));
            double gflops = groups * Group * (double)iterations * Chains * 2 / seconds / 1e9;

            long copyBytes = Math.Min(1L << 30, accelerator.MemorySize / 4);
            int count = (int)Math.Min(copyBytes / sizeof(float), int.MaxValue - 1024);
            using var source = accelerator.Allocate1D<float>(count);
            using var destination = accelerator.Allocate1D<float>(count);
            double best = double.MaxValue;
            for (int r = 0; r < 5; r++)
            {
                var clock = Stopwatch.StartNew();
                copy(stream, new KernelConfig((count + Group - 1) / Group, Group), new PeakCopyArguments { Source = source.View, Destination = destination.View, Count = count });
                stream.Synchronize();
                if (r > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            double gbps = 2.0 * count * sizeof(float) / best / 1e9;
            return new Peak(gflops, gbps, $"ILGPU kernels: {Chains} FMA chains per work-item on {workItems} work-items; copy of {(long)count * sizeof(float) >> 20} MiB");
        }
    }

    private static Action<AcceleratorStream, KernelConfig, T> Load<T>(GpuDevice device, Action<T> kernel) where T : struct =>
        device.Accelerator is CLAccelerator openCl ? OpenClProgram.Load(openCl, kernel, device.GenericAddressSpace) : device.Accelerator.LoadKernel(kernel);
}
