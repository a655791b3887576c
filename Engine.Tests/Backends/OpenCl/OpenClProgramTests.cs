using ToyModels.Backends;
using ToyModels.Backends.OpenCl;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends.OpenCl;

/// <summary>Build options, the build log on failure, and a missing runtime.</summary>
public class OpenClProgramTests
{
    [Fact]
    public void Build_options_ask_for_ieee_division_and_never_for_relaxed_math()
    {
        Assert.Contains("-cl-fp32-correctly-rounded-divide-sqrt", OpenClProgram.BuildOptions);
        foreach (string relaxed in new[] { "-cl-mad-enable", "-cl-fast-relaxed-math", "-cl-unsafe-math-optimizations", "-cl-denorms-are-zero", "-cl-finite-math-only" })
            Assert.DoesNotContain(relaxed, OpenClProgram.BuildOptions);
    }

    [Fact]
    public void A_failed_build_names_the_device_the_status_the_options_and_shows_the_log()
    {
        var device = new OpenClDeviceInfo(1, 0, 0, "Platform P", "Device D", "9.9", OpenClApi.DeviceTypeGpu, 0, 1, 1, 1);
        string message = OpenClProgram.BuildFailure(device, -11, "kernel.cl:3:5: error: use of undeclared identifier 'q'\n");
        Assert.Contains("#1 Device D", message);
        Assert.Contains("CL_BUILD_PROGRAM_FAILURE (-11)", message);
        Assert.Contains(OpenClProgram.BuildOptions, message);
        Assert.EndsWith("kernel.cl:3:5: error: use of undeclared identifier 'q'", message);
        Assert.Contains("(the compiler left no log)", OpenClProgram.BuildFailure(device, -11, ""));
    }

    [SkippableFact]
    public void A_source_that_does_not_compile_fails_with_the_compilers_log()
    {
        Skip.If(OpenClTestDevice.SkipReason is not null, OpenClTestDevice.SkipReason);
        var device = OpenClRuntime.Devices()[OpenClTestDevice.Index];
        var e = Assert.Throws<BackendUnavailableException>(() =>
            OpenClProgram.Build(device, "__kernel void broken(__global float* x) { x[0] = not_declared_anywhere; }"));
        Assert.Contains("Build log:", e.Message);
        Assert.Contains("not_declared_anywhere", e.Message);
    }

    [Fact]
    public void A_missing_icd_loader_is_reported_as_no_runtime()
    {
        string? problem = OpenClRuntime.LibraryProblem("libOpenCL-not-installed-here.so.1");
        Assert.NotNull(problem);
        Assert.StartsWith("no OpenCL runtime: libOpenCL-not-installed-here.so.1 could not be loaded", problem);
    }

    [SkippableFact]
    public void The_icd_loader_loads_where_a_device_exists()
    {
        Skip.If(OpenClTestDevice.SkipReason is not null, OpenClTestDevice.SkipReason);
        Assert.Null(OpenClRuntime.LibraryProblem());
    }
}
