using ToyModels.Backends.Kernels;

namespace ToyModels.Backends.Cuda;

/// <summary>
/// The training kernels compiled for one device and loaded into its primary context, once per process
/// and device, shared by every backend on that device. The image comes from the on-disk cache when the
/// source, options and NVRTC version match, else from NVRTC.
/// </summary>
internal sealed unsafe class CudaProgram
{
    private static readonly Dictionary<int, Lazy<CudaProgram>> Programs = [];

    public CudaDeviceInfo Device { get; }
    public int Handle { get; }          // CUdevice
    public nint Context { get; }        // the primary context
    public nint Module { get; }
    public string Architecture { get; }
    public bool FromCache { get; }

    private CudaProgram(CudaDeviceInfo device, int handle, nint context, nint module, string architecture, bool fromCache)
    {
        Device = device; Handle = handle; Context = context; Module = module; Architecture = architecture; FromCache = fromCache;
    }

    public static CudaProgram For(CudaDeviceInfo device)
    {
        Lazy<CudaProgram> program;
        lock (Programs)
        {
            if (!Programs.TryGetValue(device.Ordinal, out program!))
                Programs[device.Ordinal] = program = new Lazy<CudaProgram>(() => Load(device, KernelSource.ForCuda(), CubinCache.Default()));
        }
        return program.Value;
    }

    internal static CudaProgram Load(CudaDeviceInfo device, string source, CubinCache cache)
    {
        var driver = CudaDriver.Get();
        var compiler = Nvrtc.Get();
        int handle;
        nint context;
        driver.Check(driver.cuDeviceGet(&handle, device.Ordinal), "cuDeviceGet");
        driver.Check(driver.cuDevicePrimaryCtxRetain(&context, handle), "cuDevicePrimaryCtxRetain");
        driver.Check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent");

        var (architecture, cubin) = Nvrtc.Target(device.Major, device.Minor, compiler.SupportedArchitectures);
        string[] options = Nvrtc.Options(architecture);
        string key = CubinCache.Key(source, options, compiler.Version);
        byte[]? image = cache.TryRead(key, cubin);
        bool fromCache = image is not null;
        if (fromCache && TryLoadModule(driver, image!, out nint cached))
            return new CudaProgram(device, handle, context, cached, architecture, fromCache: true);
        if (fromCache) cache.Forget(key, cubin); // damaged or stale: compile afresh

        (image, _) = compiler.Compile(source, "training.kernels.cu", options, cubin);
        if (!TryLoadModule(driver, image, out nint module, out int status))
            throw new BackendUnavailableException($"cuda: the driver refused the {(cubin ? "CUBIN" : "PTX")} for {architecture}: {driver.Describe(status)}");
        cache.TryWrite(key, cubin, image);
        return new CudaProgram(device, handle, context, module, architecture, fromCache: false);
    }

    private static bool TryLoadModule(CudaDriver driver, byte[] image, out nint module) => TryLoadModule(driver, image, out module, out _);

    private static bool TryLoadModule(CudaDriver driver, byte[] image, out nint module, out int status)
    {
        nint m;
        fixed (byte* p = image) status = driver.cuModuleLoadData(&m, p);
        module = status == CudaDriver.Success ? m : 0;
        return status == CudaDriver.Success;
    }
}
