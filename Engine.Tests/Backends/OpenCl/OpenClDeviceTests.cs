using System.Runtime.InteropServices;
using ToyModels.Backends;
using ToyModels.Backends.Device;
using ToyModels.Backends.Kernels;
using ToyModels.Backends.OpenCl;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends.OpenCl;

/// <summary>The OpenCL runtime under the device backend: the preamble's exact arithmetic, and instance chunking.</summary>
public class OpenClDeviceTests
{
    private static OpenClDeviceInfo TestDevice()
    {
        Skip.If(OpenClTestDevice.SkipReason is not null, OpenClTestDevice.SkipReason);
        return OpenClRuntime.Devices()[OpenClTestDevice.Index];
    }

    /// <summary>
    /// a * b + c with a = b = 1 + 2^-12 and c = -(1 + 2^-11): the rounded product is 1 + 2^-11 (a tie,
    /// to even), so the separate operations give 0 and the fused one 2^-24. POCL contracts a*b+c into
    /// an fma unless FP_CONTRACT is off, so this fails without the preamble's pragma.
    /// </summary>
    [SkippableFact]
    public void The_preamble_keeps_multiply_and_add_separate_and_fma_fused()
    {
        var info = TestDevice();
        const string kernel = """
            KERNEL void product_plus(GLOBAL const float* in, GLOBAL float* out)
            {
                out[0] = FADD(FMUL(in[0], in[1]), in[2]);
                out[1] = in[0] * in[1] + in[2];
                out[2] = FMA(in[0], in[1], in[2]);
            }
            """;
        using var program = OpenClProgram.Build(info, KernelSource.OpenClPreamble + "\n" + kernel);
        using var device = new OpenClDevice(program);
        float a = 1 + MathF.Pow(2, -12), c = -(1 + MathF.Pow(2, -11));
        using var input = device.Allocate(12);
        using var output = device.Allocate(12);
        device.Write(input, 0, MemoryMarshal.AsBytes<float>([a, a, c]));
        using var product = device.Kernel("product_plus");
        device.Launch(product, 1, 1, 1, [input, output]);
        var result = new float[3];
        device.Read(output, 0, MemoryMarshal.AsBytes(result.AsSpan()));
        Assert.Equal(0f, result[0]);
        Assert.Equal(0f, result[1]);
        Assert.Equal(MathF.Pow(2, -24), result[2]);
    }

    /// <summary>A runtime whose grid takes at most 2 instances per launch (as CUDA's takes 65535): the backend launches in chunks.</summary>
    [SkippableFact]
    public void Instances_beyond_one_launch_are_launched_in_chunks_with_the_same_bits()
    {
        var info = TestDevice();
        var config = ParityCases.Make(45, 11, 23, true, true, 0.1, Importance.Decay(0.95), 5);
        using var expected = BackendFactory.Create(BackendKind.Reference, config);
        using var actual = new DeviceBackend(config, new TwoInstancesPerLaunch(new OpenClDevice(OpenClRuntime.Program(info))));
        actual.SetParameters(Initialization.Create(config));
        var scalars = new OptimizerStep(config);
        for (long step = 0; step < 4; step++)
        {
            expected.Step(scalars.Set(step));
            actual.Step(scalars);
        }
        var e = new float[config.Layout.Total];
        var a = new float[e.Length];
        expected.GetParameters(e);
        actual.GetParameters(a);
        Bits.Equal(e, a, "parameters after 4 steps in chunks of 2 instances");
        var rows = new float[5 * 4];
        var expectedRows = new float[rows.Length];
        expected.Evaluate(0, 4, expectedRows);
        actual.Evaluate(0, 4, rows);
        Bits.Equal(expectedRows, rows, "evaluation row losses");
    }

    private sealed class TwoInstancesPerLaunch(IComputeDevice inner) : IComputeDevice
    {
        public string BackendName => inner.BackendName;
        public string Description => inner.Description;
        public int MaxInstancesPerLaunch => 2;
        public DeviceBuffer Allocate(long bytes) => inner.Allocate(bytes);
        public void Write(DeviceBuffer buffer, long offset, ReadOnlySpan<byte> data) => inner.Write(buffer, offset, data);
        public void Read(DeviceBuffer buffer, long offset, Span<byte> data) => inner.Read(buffer, offset, data);
        public DeviceKernel Kernel(string name) => inner.Kernel(name);
        public void Launch(DeviceKernel kernel, long groups, int instances, int groupSize, ReadOnlySpan<KernelArgument> arguments)
        {
            Assert.InRange(instances, 1, 2);
            inner.Launch(kernel, groups, instances, groupSize, arguments);
        }
        public void Flush() => inner.Flush();
        public void Finish() => inner.Finish();
        public void Dispose() => inner.Dispose();
    }
}
