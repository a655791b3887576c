using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;
using ToyModels.Gpu.Kernels;

namespace ToyModels.Gpu.Devices;

/// <summary>The three places ILGPU runs the kernels.</summary>
internal enum GpuKind
{
    Cuda,
    OpenCl,
    /// <summary>ILGPU's CPU accelerator: the same kernels as .NET code, bit-exact and slow; for tests and debugging.</summary>
    CpuAccelerator,
}

/// <summary>
/// One accelerator, opened once per process and shared by every backend on it: compiling the training
/// program takes seconds, so it is loaded once (at the first backend) and kept.
/// </summary>
/// <remarks>
/// Calls from backends on different threads are serialised by <see cref="Sync"/>; each call binds the
/// accelerator to its thread first (a CUDA context is per thread).
/// </remarks>
internal sealed class GpuDevice
{
    private readonly Lazy<TrainingKernels> _kernels;

    public GpuDevice(GpuKind kind, Accelerator accelerator, string description, KernelGeometry geometry, bool genericAddressSpace)
    {
        Kind = kind;
        GenericAddressSpace = genericAddressSpace;
        Accelerator = accelerator;
        Description = description;
        Geometry = geometry.Fits ? geometry : throw new ArgumentException($"{geometry} does not fit the kernels' shared memory", nameof(geometry));
        _kernels = new Lazy<TrainingKernels>(() =>
        {
            lock (Sync)
            {
                accelerator.Bind();
                return new TrainingKernels(new Loader(accelerator, genericAddressSpace), MaxInstancesPerLaunch);
            }
        });
    }

    public GpuKind Kind { get; }
    /// <summary>False for an OpenCL device that only gets programs without generic pointers (<see cref="OpenClProgram"/>).</summary>
    public bool GenericAddressSpace { get; }
    public Accelerator Accelerator { get; }
    public string Description { get; }
    public KernelGeometry Geometry { get; }
    public object Sync { get; } = new();

    /// <summary>Grid dimension 1 (instances) of one launch: CUDA's limit for gridDim.y.</summary>
    public int MaxInstancesPerLaunch => 65535;

    /// <summary>The backend name: cuda, opencl, ilgpu-cpu.</summary>
    public string BackendName => Name(Kind);

    public static string Name(GpuKind kind) => kind switch
    {
        GpuKind.Cuda => "cuda",
        GpuKind.OpenCl => "opencl",
        _ => "ilgpu-cpu",
    };

    /// <summary>The training program, compiled and loaded at the first call.</summary>
    public TrainingKernels Kernels => _kernels.Value;

    private sealed class Loader(Accelerator accelerator, bool genericAddressSpace) : IKernelLoader
    {
        public Action<AcceleratorStream, KernelConfig, T> Load<T>(Action<T> kernel) where T : struct =>
            accelerator is CLAccelerator openCl
                ? OpenClProgram.Load(openCl, kernel, genericAddressSpace)
                : accelerator.LoadKernel(kernel);
    }
}
