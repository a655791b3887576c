using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime.OpenCL;
using ToyModels.Backends;
using ToyModels.Gpu.Kernels;
using ToyModels.Model;

namespace ToyModels.Gpu.Devices;

/// <summary>An OpenCL device as found, with why it cannot compute the engine's bits (null when it can).</summary>
internal sealed record OpenClDeviceInfo(int Index, CLDevice Device, string? ParityProblem)
{
    public bool IsGpu => Device.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU;
    public string TypeName => IsGpu ? "GPU" : Device.DeviceType == CLDeviceType.CL_DEVICE_TYPE_CPU ? "CPU" : "other";
    public string Describe() => $"{Device.Name} ({TypeName}, {Device.PlatformName})";
}

/// <summary>
/// The accelerators of this process: one ILGPU context per runtime, created at first use; devices are
/// opened once and kept (<see cref="GpuDevice"/>). Every context compiles with O2 (its address-space
/// inference keeps generic pointers out of the OpenCL code) and the exact intrinsics registered.
/// </summary>
internal static class GpuDevices
{
    /// <summary>Groups of up to 16 threads (<see cref="KernelGeometry.CpuAccelerator"/>), one multiprocessor.</summary>
    private static readonly CPUDevice CpuAcceleratorDevice = new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4, numMultiprocessors: 1);
    private static readonly Dictionary<(GpuKind, int), GpuDevice> Open = [];
    private static readonly Lazy<Context> CudaContext = new(() => CreateContext(builder => builder.Cuda()));
    private static readonly Lazy<Context> OpenClContext = new(() => CreateContext(builder => builder.OpenCL(_ => true)));
    private static readonly Lazy<Context> CpuContext = new(() => CreateContext(builder => builder.CPU(CpuAcceleratorDevice)));


    static GpuDevices() => NativeLibraries.Install();

    private static Context CreateContext(Func<Context.Builder, Context.Builder> devices)
    {
        var context = Context.Create(builder => devices(builder).Optimize(OptimizationLevel.O2).Math(MathMode.Default));
        Exact.Register(context);
        return context;
    }

    /// <summary>The CUDA devices (driver ordinal order), or none and why.</summary>
    public static IReadOnlyList<CudaDevice> Cuda(out string? problem)
    {
        string? missing = NativeLibraries.Missing(NativeLibraries.Cuda);
        if (missing is not null)
        {
            problem = $"no CUDA driver library found ({missing})";
            return [];
        }
        var devices = new List<CudaDevice>();
        foreach (var device in CudaContext.Value.GetCudaDevices()) devices.Add(device);
        problem = devices.Count == 0 ? "the CUDA driver reports no device" : null;
        return devices;
    }

    /// <summary>Every OpenCL device of every platform, numbered in that order, or none and why.</summary>
    public static IReadOnlyList<OpenClDeviceInfo> OpenCl(out string? problem)
    {
        string? missing = NativeLibraries.Missing(NativeLibraries.OpenCl);
        if (missing is not null)
        {
            problem = $"no OpenCL runtime found ({missing})";
            return [];
        }
        var devices = new List<OpenClDeviceInfo>();
        foreach (var device in OpenClContext.Value.GetCLDevices()) devices.Add(new OpenClDeviceInfo(devices.Count, device, ParityProblem(device)));
        problem = devices.Count == 0 ? "no OpenCL device found (no platform, or none with a device)" : null;
        return devices;
    }

    /// <summary>Opens CUDA device <paramref name="ordinal"/>.</summary>
    public static GpuDevice OpenCuda(int ordinal)
    {
        var devices = Cuda(out string? problem);
        if (problem is not null) throw new BackendUnavailableException($"cuda: {problem}");
        if (ordinal >= devices.Count)
            throw new ConfigException("BackendOptions.Device", ordinal, $"a CUDA device 0 .. {devices.Count - 1}: {string.Join("; ", devices.Select((d, k) => $"{k}: {d.Name}"))}");
        return Get(GpuKind.Cuda, ordinal, () =>
        {
            var device = devices[ordinal];
            var accelerator = device.CreateCudaAccelerator(CudaContext.Value);
            return new GpuDevice(GpuKind.Cuda, accelerator, $"{device.Name} ({device.Architecture}, {device.MemorySize >> 20} MiB)",
                KernelGeometry.Gpu, genericAddressSpace: true);
        });
    }

    /// <summary>Opens OpenCL device <paramref name="index"/> (numbered over all platforms), refusing one that cannot compute the engine's bits.</summary>
    public static GpuDevice OpenOpenCl(int index)
    {
        var devices = OpenCl(out string? problem);
        if (problem is not null) throw new BackendUnavailableException($"opencl: {problem}");
        if (index >= devices.Count)
            throw new ConfigException("BackendOptions.Device", index, $"an OpenCL device 0 .. {devices.Count - 1}: {string.Join("; ", devices.Select(d => $"{d.Index}: {d.Describe()}"))}");
        var info = devices[index];
        if (info.ParityProblem is not null)
            throw new BackendUnavailableException($"opencl: {info.Describe()} cannot compute the engine's bits: {info.ParityProblem}");
        return Get(GpuKind.OpenCl, index, () =>
        {
            bool generic = info.Device.Capabilities.GenericAddressSpace;
            // ILGPU refuses a device without generic address space outright; the program is checked for
            // generic pointers instead, when each kernel is loaded (OpenClProgram.Load).
            if (!generic) SetGenericAddressSpace(info.Device.Capabilities, true);
            var accelerator = info.Device.CreateCLAccelerator(OpenClContext.Value);
            return new GpuDevice(GpuKind.OpenCl, accelerator, info.Describe(), KernelGeometry.Gpu, generic);
        });
    }

    /// <summary>ILGPU's CPU accelerator.</summary>
    public static GpuDevice OpenCpuAccelerator() => Get(GpuKind.CpuAccelerator, 0, () =>
        new GpuDevice(GpuKind.CpuAccelerator, CpuContext.Value.CreateCPUAccelerator(0),
            $"ILGPU CPU accelerator (groups of {KernelGeometry.CpuAccelerator.Group} threads)", KernelGeometry.CpuAccelerator, genericAddressSpace: true));

    private static GpuDevice Get(GpuKind kind, int index, Func<GpuDevice> open)
    {
        lock (Open)
        {
            if (!Open.TryGetValue((kind, index), out var device))
                Open[(kind, index)] = device = open();
            return device;
        }
    }

    /// <summary>Why an OpenCL device cannot give the reference's bits, or null.</summary>
    public static string? ParityProblem(CLDevice device) =>
        ParityProblem(device.GetDeviceInfo<ulong>(CLDeviceInfoType.CL_DEVICE_SINGLE_FP_CONFIG), device.Capabilities.Float64, device.CLStdVersion);

    /// <summary>
    /// The checks on a device's capabilities: a true single-precision FMA and denormals, double precision
    /// for the exact division and square root (<see cref="Exact"/>), and the OpenCL C that ILGPU writes.
    /// </summary>
    public static string? ParityProblem(ulong singleFpConfig, bool float64, CLCVersion openClC)
    {
        const ulong Denormals = 1 << 0, FusedMultiplyAdd = 1 << 5;
        var missing = new List<string>();
        if ((singleFpConfig & FusedMultiplyAdd) == 0) missing.Add("an IEEE single-precision fused multiply-add (CL_FP_FMA)");
        if ((singleFpConfig & Denormals) == 0) missing.Add("single-precision denormals (CL_FP_DENORM)");
        if (!float64) missing.Add("double precision (cl_khr_fp64), which the exact division and square root use");
        if (openClC < ILGPU.Backends.OpenCL.CLBackend.MinimumVersion)
            missing.Add($"OpenCL C {ILGPU.Backends.OpenCL.CLBackend.MinimumVersion} (it has {openClC})");
        return missing.Count == 0 ? null : "it lacks " + string.Join(", ", missing);
    }

    /// <summary>The setter ILGPU 1.5.3 keeps internal.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_GenericAddressSpace")]
    private static extern void SetGenericAddressSpace(CLCapabilityContext capabilities, bool value);
}
