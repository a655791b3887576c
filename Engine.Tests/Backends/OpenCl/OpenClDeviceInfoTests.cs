using ToyModels.Backends.OpenCl;

namespace ToyModels.Tests.Backends.OpenCl;

/// <summary>The parity checks that refuse a device, and what they say; no device needed.</summary>
public class OpenClDeviceInfoTests
{
    private const ulong All = OpenClApi.FpFma | OpenClApi.FpDenorm | OpenClApi.FpCorrectlyRoundedDivideSqrt;

    private static OpenClDeviceInfo Device(ulong fpConfig, ulong type = OpenClApi.DeviceTypeGpu) =>
        new(3, 0, 0, "Some Platform", "Some GPU", "1.0", type, fpConfig, 80, 8L << 30, 2L << 30);

    [Fact]
    public void A_device_with_fma_denormals_and_ieee_division_is_accepted() => Assert.Null(Device(All).ParityProblem());

    [Theory]
    [InlineData(OpenClApi.FpFma, "CL_FP_FMA")]
    [InlineData(OpenClApi.FpDenorm, "CL_FP_DENORM")]
    [InlineData(OpenClApi.FpCorrectlyRoundedDivideSqrt, "CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT")]
    public void A_device_lacking_one_capability_is_refused_naming_it(ulong lacking, string name)
    {
        string? problem = Device(All & ~lacking).ParityProblem();
        Assert.NotNull(problem);
        Assert.Contains("#3 Some GPU", problem);
        Assert.Contains(name, problem);
        foreach (string other in new[] { "CL_FP_FMA ", "CL_FP_DENORM", "CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT" }.Where(o => !o.StartsWith(name, StringComparison.Ordinal)))
            Assert.DoesNotContain(other, problem);
    }

    [Fact]
    public void A_device_lacking_everything_is_refused_naming_all_three()
    {
        string problem = Device(0).ParityProblem()!;
        Assert.Contains("CL_FP_FMA", problem);
        Assert.Contains("CL_FP_DENORM", problem);
        Assert.Contains("CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT", problem);
    }

    [Fact]
    public void Description_names_the_number_type_and_platform()
    {
        Assert.Equal("#3 Some GPU (GPU, Some Platform, driver 1.0, 80 compute units, 8192 MiB)", Device(All).Describe());
        Assert.False(Device(All, OpenClApi.DeviceTypeCpu).IsGpu);
        Assert.Equal("CPU", Device(All, OpenClApi.DeviceTypeCpu).TypeName);
    }
}
