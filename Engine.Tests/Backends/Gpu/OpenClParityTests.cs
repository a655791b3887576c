using ILGPU.Backends.OpenCL;
using ToyModels.Gpu.Devices;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>The checks that refuse an OpenCL device, and what they say; no device needed.</summary>
public class OpenClParityTests
{
    private const ulong Fma = 1 << 5, Denormals = 1 << 0;

    [Fact]
    public void A_device_with_fma_denormals_and_double_precision_is_accepted() =>
        Assert.Null(GpuDevices.ParityProblem(Fma | Denormals, float64: true, CLCVersion.CL20));

    [Theory]
    [InlineData(Fma | Denormals, false, "cl_khr_fp64")]
    [InlineData(Denormals, true, "CL_FP_FMA")]
    [InlineData(Fma, true, "CL_FP_DENORM")]
    public void A_device_lacking_one_capability_is_refused_naming_it(ulong single, bool float64, string name)
    {
        string? problem = GpuDevices.ParityProblem(single, float64, CLCVersion.CL30);
        Assert.NotNull(problem);
        Assert.Contains(name, problem);
        Assert.Single(problem.Split(", ("));
    }

    [Fact]
    public void A_device_lacking_everything_is_refused_naming_all()
    {
        string problem = GpuDevices.ParityProblem(0, float64: false, CLCVersion.CL12)!;
        foreach (string name in new[] { "CL_FP_FMA", "CL_FP_DENORM", "cl_khr_fp64", "OpenCL C" })
            Assert.Contains(name, problem);
    }
}
