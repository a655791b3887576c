using System.Diagnostics.CodeAnalysis;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Backends;

/// <summary>
/// What the factory needs of the GPU backends, which live in their own assembly
/// (ToyModels.Engine.Gpu, on ILGPU) so that this library stays BCL-only and trimmable.
/// </summary>
internal interface IGpuBackends
{
    /// <summary>
    /// The memory of a backend of kind cuda, opencl or ilgpu-cpu: its buffers as <see cref="MemoryPlace.Device"/> parts
    /// (host parts on ilgpu-cpu, whose device is this process), and what it holds on the host.
    /// </summary>
    IEnumerable<MemoryPart> Memory(BackendKind kind, AutoencoderConfig config);

    /// <summary>A backend of kind cuda, opencl or ilgpu-cpu on <paramref name="device"/>; throws <see cref="BackendUnavailableException"/> saying why not.</summary>
    IBackend Create(BackendKind kind, AutoencoderConfig config, int device);

    /// <summary>auto's GPU: a CUDA device, else an OpenCL GPU that computes the engine's bits; null with the reasons when there is none.</summary>
    IBackend? CreateFastest(AutoencoderConfig config, int device, out string choice, out string reasons);
}

/// <summary>
/// Finds the GPU backends at run time. A program that offers them references ToyModels.Engine.Gpu;
/// the engine has no compile-time reference to it and loads its provider type by name. The name is a
/// constant, so the trimmer sees it, keeps the provider's constructor in a trimmed publish that
/// contains the assembly, and resolves nothing in one that does not.
/// </summary>
internal static class GpuBackends
{
    public const string ProviderTypeName = "ToyModels.Gpu.GpuBackendProvider, ToyModels.Engine.Gpu";

    private static readonly Lazy<IGpuBackends?> Provider = new(Load);

    /// <summary>The provider, or null when ToyModels.Engine.Gpu is not part of this program.</summary>
    public static IGpuBackends? Find() => Provider.Value;

    /// <summary>Why there are no GPU backends, for messages.</summary>
    public const string Missing = "the GPU backends (ToyModels.Engine.Gpu.dll) are not part of this program";

    public static IGpuBackends Required(BackendKind kind) =>
        Find() ?? throw new BackendUnavailableException($"{BackendFactory.Name(kind)}: {Missing}");

    private static IGpuBackends? Load()
    {
        var type = Type.GetType(ProviderTypeName, throwOnError: false);
        return type is null ? null : (IGpuBackends?)Create(type);
    }

    private static object? Create([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] Type type) =>
        Activator.CreateInstance(type);
}
