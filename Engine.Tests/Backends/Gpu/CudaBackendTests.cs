using ToyModels.Backends;
using ToyModels.Gpu.Devices;
using ToyModels.Model;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>
/// The backend suite on CUDA, where a CUDA device and its driver are present; skipped, saying why,
/// elsewhere (TOYMODELS_REQUIRE_CUDA=1 turns the skip into a failure, for GPU machines).
/// </summary>
public sealed class CudaBackendTests : BackendSuite
{
    public const string RequireVariable = "TOYMODELS_REQUIRE_CUDA";

    private static readonly Lazy<string?> Problem = new(() =>
    {
        GpuDevices.Cuda(out string? problem);
        return problem;
    });

    protected override string? SkipReason
    {
        get
        {
            if (Problem.Value is null) return null;
            if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
                Assert.Fail($"{RequireVariable}=1 but the CUDA tests cannot run: {Problem.Value}");
            return $"CUDA tests skipped: {Problem.Value}";
        }
    }

    protected override IBackend Create(AutoencoderConfig config) => BackendFactory.Create(BackendKind.Cuda, config);
}
