using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>
/// The backend suite on ILGPU's CPU accelerator: the GPU kernels themselves, run as .NET code, held
/// to the reference bit for bit in every buffer after every operation. Runs everywhere, in CI too.
/// </summary>
[Trait("Category", "Slow")]
public sealed class IlgpuCpuBackendTests : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) => BackendFactory.Create(BackendKind.IlgpuCpu, config);
}
