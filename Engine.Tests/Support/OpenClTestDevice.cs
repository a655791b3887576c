using ToyModels.Gpu.Devices;

namespace ToyModels.Tests.Support;

/// <summary>
/// The OpenCL device the tests run on: the first one (of any type, POCL included) that can compute
/// the engine's bits. Without one the OpenCL tests are skipped, saying why; with
/// TOYMODELS_REQUIRE_OPENCL=1 (set by .ci/run) a missing device fails them instead.
/// </summary>
public static class OpenClTestDevice
{
    public const string RequireVariable = "TOYMODELS_REQUIRE_OPENCL";

    private static readonly Lazy<(int Index, string? Problem)> Found = new(() =>
    {
        var devices = GpuDevices.OpenCl(out string? problem);
        if (problem is not null) return (-1, problem);
        foreach (var device in devices)
            if (device.ParityProblem is null) return (device.Index, null);
        return (-1, string.Join("; ", devices.Select(d => $"{d.Describe()}: {d.ParityProblem}")));
    });

    /// <summary>The --device number of the test device.</summary>
    public static int Index => Found.Value.Index;

    /// <summary>Null when a device is present; else why the OpenCL tests cannot run (or a failure, when they are required).</summary>
    public static string? SkipReason
    {
        get
        {
            string? problem = Found.Value.Problem;
            if (problem is not null && Environment.GetEnvironmentVariable(RequireVariable) == "1")
                Assert.Fail($"{RequireVariable}=1 but the OpenCL tests cannot run: {problem}");
            return problem is null ? null : $"OpenCL tests skipped: {problem}";
        }
    }
}
