using ToyModels.Backends;
using ToyModels.Gpu.Devices;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Gpu;

/// <summary>
/// The GPU backends as <see cref="BackendFactory"/> finds them: by this type's name
/// (<c>GpuBackends.ProviderTypeName</c> in the engine), with no compile-time reference from the engine.
/// </summary>
internal sealed class GpuBackendProvider : IGpuBackends
{
    /// <summary>A run the kernels cannot address is refused here, before it is sized.</summary>
    public IEnumerable<MemoryPart> Memory(BackendKind kind, AutoencoderConfig config)
    {
        GpuBackend.CheckSizes(config, BackendFactory.Name(kind));
        return GpuBackend.Memory(config, Kind(kind));
    }

    public IBackend Create(BackendKind kind, AutoencoderConfig config, int device)
    {
        GpuBackend.CheckSizes(config, BackendFactory.Name(kind)); // before a device is opened: a refusal needs none
        return Open(kind, config, device);
    }

    private static GpuKind Kind(BackendKind kind) => kind switch
    {
        BackendKind.Cuda => GpuKind.Cuda,
        BackendKind.OpenCl => GpuKind.OpenCl,
        BackendKind.IlgpuCpu => GpuKind.CpuAccelerator,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a GPU backend"),
    };

    private static GpuBackend Open(BackendKind kind, AutoencoderConfig config, int device) => new(config, kind switch
    {
        BackendKind.Cuda => GpuDevices.OpenCuda(device),
        BackendKind.OpenCl => GpuDevices.OpenOpenCl(device),
        BackendKind.IlgpuCpu => device == 0 ? GpuDevices.OpenCpuAccelerator() : throw new ConfigException("BackendOptions.Device", device, "0 (there is one CPU accelerator)"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a GPU backend"),
    });

    public IBackend? CreateFastest(AutoencoderConfig config, int device, out string choice, out string reasons)
    {
        string cuda, openCl;
        var cudaDevices = GpuDevices.Cuda(out string? problem);
        if (problem is not null) cuda = problem;
        else if (device >= cudaDevices.Count) cuda = $"no CUDA device {device} ({cudaDevices.Count} found)";
        else
        {
            try
            {
                var backend = Create(BackendKind.Cuda, config, device);
                choice = $"cuda on {backend.Description}";
                reasons = "";
                return backend;
            }
            catch (Exception e) when (e is BackendUnavailableException or ConfigException or ILGPU.Runtime.Cuda.CudaException or ILGPU.Runtime.AcceleratorException)
            {
                cuda = Without(e.Message, "cuda: ");
            }
        }

        var gpus = GpuDevices.OpenCl(out problem).Where(d => d.IsGpu).ToList();
        var good = gpus.Where(d => d.ParityProblem is null).ToList();
        if (problem is not null) openCl = problem;
        else if (good.Count <= device)
            openCl = gpus.Count == 0 ? "no OpenCL GPU" : $"no OpenCL GPU {device} that computes the engine's bits ({string.Join("; ", gpus.Select(d => $"{d.Describe()}: {d.ParityProblem ?? "usable"}"))})";
        else
        {
            try
            {
                var backend = Create(BackendKind.OpenCl, config, good[device].Index);
                choice = $"opencl on {backend.Description}";
                reasons = "";
                return backend;
            }
            catch (Exception e) when (e is BackendUnavailableException or ConfigException or ILGPU.Runtime.OpenCL.CLException or ILGPU.Runtime.AcceleratorException)
            {
                openCl = Without(e.Message, "opencl: ");
            }
        }
        choice = "";
        reasons = $"cuda: {cuda}; opencl: {openCl}";
        return null;
    }

    private static string Without(string message, string prefix) =>
        message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
}
