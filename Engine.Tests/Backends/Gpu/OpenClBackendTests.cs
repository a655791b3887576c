using ToyModels.Backends;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>The backend suite on OpenCL through ILGPU (POCL in CI): every operation and whole runs, bit for bit against the reference.</summary>
public sealed class OpenClBackendTests : BackendSuite
{
    protected override string? SkipReason => OpenClTestDevice.SkipReason;

    protected override IBackend Create(AutoencoderConfig config) =>
        BackendFactory.Create(BackendKind.OpenCl, config, new BackendOptions(Device: OpenClTestDevice.Index));
}
