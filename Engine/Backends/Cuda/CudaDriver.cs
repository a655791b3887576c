using System.Runtime.InteropServices;
using System.Text;

namespace ToyModels.Backends.Cuda;

/// <summary>
/// The few CUDA driver API functions the engine needs (libcuda.so.1, the library the NVIDIA driver
/// installs), bound at run time through <see cref="NativeLibrary"/> into unmanaged function pointers:
/// no CUDA toolkit at build time, nothing for the trimmer to remove, and a clear error where no
/// driver is installed.
/// </summary>
internal sealed unsafe class CudaDriver
{
    public const int Success = 0;

    // CUdevice_attribute values (cuda.h).
    public const int AttributeMultiprocessorCount = 16;
    public const int AttributeClockRateKHz = 13;
    public const int AttributeMemoryClockRateKHz = 36;
    public const int AttributeGlobalMemoryBusWidth = 37;
    public const int AttributeComputeCapabilityMajor = 75;
    public const int AttributeComputeCapabilityMinor = 76;
    public const int AttributeMaxSharedMemoryPerBlockOptin = 97;
    /// <summary>CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK.</summary>
    public const int FunctionMaxThreadsPerBlock = 0;
    /// <summary>CU_EVENT_DISABLE_TIMING: events used only to know when a copy is done.</summary>
    public const uint EventDisableTiming = 2;

    private static readonly string[] LibraryNames = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
    private static readonly Lazy<(CudaDriver? Driver, string? Error)> Shared = new(Load);

    public delegate* unmanaged<uint, int> cuInit;
    public delegate* unmanaged<int*, int> cuDriverGetVersion;
    public delegate* unmanaged<int*, int> cuDeviceGetCount;
    public delegate* unmanaged<int*, int, int> cuDeviceGet;
    public delegate* unmanaged<byte*, int, int, int> cuDeviceGetName;
    public delegate* unmanaged<int*, int, int, int> cuDeviceGetAttribute;
    public delegate* unmanaged<nuint*, int, int> cuDeviceTotalMem;
    public delegate* unmanaged<nint*, int, int> cuDevicePrimaryCtxRetain;
    public delegate* unmanaged<int, int> cuDevicePrimaryCtxRelease;
    public delegate* unmanaged<nint, int> cuCtxSetCurrent;
    public delegate* unmanaged<int> cuCtxSynchronize;
    public delegate* unmanaged<nint*, void*, int> cuModuleLoadData;
    public delegate* unmanaged<nint, int> cuModuleUnload;
    public delegate* unmanaged<nint*, nint, byte*, int> cuModuleGetFunction;
    public delegate* unmanaged<ulong*, nuint, int> cuMemAlloc;
    public delegate* unmanaged<ulong, int> cuMemFree;
    public delegate* unmanaged<ulong, void*, nuint, int> cuMemcpyHtoD;
    public delegate* unmanaged<void*, ulong, nuint, int> cuMemcpyDtoH;
    public delegate* unmanaged<ulong, ulong, nuint, int> cuMemcpyDtoD;
    public delegate* unmanaged<ulong, byte, nuint, int> cuMemsetD8;
    public delegate* unmanaged<ulong, void*, nuint, nint, int> cuMemcpyHtoDAsync;
    public delegate* unmanaged<void**, nuint, uint, int> cuMemHostAlloc;
    public delegate* unmanaged<void*, int> cuMemFreeHost;
    public delegate* unmanaged<nint*, uint, int> cuStreamCreate;
    public delegate* unmanaged<nint, int> cuStreamDestroy;
    public delegate* unmanaged<nint, int> cuStreamSynchronize;
    public delegate* unmanaged<int*, int, nint, int> cuFuncGetAttribute;
    public delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> cuLaunchKernel;
    public delegate* unmanaged<nint*, uint, int> cuEventCreate;
    public delegate* unmanaged<nint, nint, int> cuEventRecord;
    public delegate* unmanaged<nint, int> cuEventSynchronize;
    public delegate* unmanaged<float*, nint, nint, int> cuEventElapsedTime;
    public delegate* unmanaged<nint, int> cuEventDestroy;
    public delegate* unmanaged<int, byte**, int> cuGetErrorName;
    public delegate* unmanaged<int, byte**, int> cuGetErrorString;

    /// <summary>The driver, loaded and initialised once per process; null with the reason when there is none.</summary>
    public static (CudaDriver? Driver, string? Error) TryGet() => Shared.Value;

    public static CudaDriver Get() => TryGet() is (CudaDriver driver, _) ? driver
        : throw new BackendUnavailableException($"cuda: {TryGet().Error}");

    private static (CudaDriver?, string?) Load()
    {
        if (!TryLoadAny(LibraryNames, out nint library, out string tried))
            return (null, $"no CUDA driver library found (tried {tried}); install the NVIDIA driver, or use --backend simd");
        var driver = new CudaDriver();
        try
        {
            driver.Bind(library);
        }
        catch (EntryPointNotFoundException e)
        {
            return (null, $"the CUDA driver library is too old: {e.Message}");
        }
        int status = driver.cuInit(0);
        if (status != Success)
            return (null, $"cuInit failed: {driver.Describe(status)} (is a GPU present and the driver loaded?)");
        return (driver, null);
    }

    internal static bool TryLoadAny(IEnumerable<string> names, out nint library, out string tried)
    {
        var list = names.ToList();
        tried = string.Join(", ", list);
        foreach (string name in list)
            if (NativeLibrary.TryLoad(name, out library)) return true;
        library = 0;
        return false;
    }

    private void Bind(nint library)
    {
        void* F(string name) => (void*)NativeLibrary.GetExport(library, name);
        cuInit = (delegate* unmanaged<uint, int>)F("cuInit");
        cuDriverGetVersion = (delegate* unmanaged<int*, int>)F("cuDriverGetVersion");
        cuDeviceGetCount = (delegate* unmanaged<int*, int>)F("cuDeviceGetCount");
        cuDeviceGet = (delegate* unmanaged<int*, int, int>)F("cuDeviceGet");
        cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)F("cuDeviceGetName");
        cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)F("cuDeviceGetAttribute");
        cuDeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)F("cuDeviceTotalMem_v2");
        cuDevicePrimaryCtxRetain = (delegate* unmanaged<nint*, int, int>)F("cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = (delegate* unmanaged<int, int>)F("cuDevicePrimaryCtxRelease_v2");
        cuCtxSetCurrent = (delegate* unmanaged<nint, int>)F("cuCtxSetCurrent");
        cuCtxSynchronize = (delegate* unmanaged<int>)F("cuCtxSynchronize");
        cuModuleLoadData = (delegate* unmanaged<nint*, void*, int>)F("cuModuleLoadData");
        cuModuleUnload = (delegate* unmanaged<nint, int>)F("cuModuleUnload");
        cuModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)F("cuModuleGetFunction");
        cuMemAlloc = (delegate* unmanaged<ulong*, nuint, int>)F("cuMemAlloc_v2");
        cuMemFree = (delegate* unmanaged<ulong, int>)F("cuMemFree_v2");
        cuMemcpyHtoD = (delegate* unmanaged<ulong, void*, nuint, int>)F("cuMemcpyHtoD_v2");
        cuMemcpyDtoH = (delegate* unmanaged<void*, ulong, nuint, int>)F("cuMemcpyDtoH_v2");
        cuMemcpyDtoD = (delegate* unmanaged<ulong, ulong, nuint, int>)F("cuMemcpyDtoD_v2");
        cuMemsetD8 = (delegate* unmanaged<ulong, byte, nuint, int>)F("cuMemsetD8_v2");
        cuMemcpyHtoDAsync = (delegate* unmanaged<ulong, void*, nuint, nint, int>)F("cuMemcpyHtoDAsync_v2");
        cuMemHostAlloc = (delegate* unmanaged<void**, nuint, uint, int>)F("cuMemHostAlloc");
        cuMemFreeHost = (delegate* unmanaged<void*, int>)F("cuMemFreeHost");
        cuStreamCreate = (delegate* unmanaged<nint*, uint, int>)F("cuStreamCreate");
        cuStreamDestroy = (delegate* unmanaged<nint, int>)F("cuStreamDestroy_v2");
        cuStreamSynchronize = (delegate* unmanaged<nint, int>)F("cuStreamSynchronize");
        cuFuncGetAttribute = (delegate* unmanaged<int*, int, nint, int>)F("cuFuncGetAttribute");
        cuLaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)F("cuLaunchKernel");
        cuEventCreate = (delegate* unmanaged<nint*, uint, int>)F("cuEventCreate");
        cuEventRecord = (delegate* unmanaged<nint, nint, int>)F("cuEventRecord");
        cuEventSynchronize = (delegate* unmanaged<nint, int>)F("cuEventSynchronize");
        cuEventElapsedTime = (delegate* unmanaged<float*, nint, nint, int>)F("cuEventElapsedTime");
        cuEventDestroy = (delegate* unmanaged<nint, int>)F("cuEventDestroy_v2");
        cuGetErrorName = (delegate* unmanaged<int, byte**, int>)F("cuGetErrorName");
        cuGetErrorString = (delegate* unmanaged<int, byte**, int>)F("cuGetErrorString");
    }

    /// <summary>"CUDA_ERROR_OUT_OF_MEMORY (out of memory)" for a CUresult.</summary>
    public string Describe(int status)
    {
        byte* name = null, text = null;
        string n = cuGetErrorName(status, &name) == Success && name != null ? Marshal.PtrToStringUTF8((nint)name)! : $"CUresult {status}";
        string t = cuGetErrorString(status, &text) == Success && text != null ? Marshal.PtrToStringUTF8((nint)text)! : "unknown error";
        return $"{n} ({t})";
    }

    /// <summary>Throws with the call's name and the driver's description unless status is success.</summary>
    public void Check(int status, string call)
    {
        if (status != Success) throw new CudaException(call, status, Describe(status));
    }

    public string DeviceName(int device)
    {
        byte* buffer = stackalloc byte[256];
        Check(cuDeviceGetName(buffer, 256, device), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((nint)buffer) ?? "";
    }

    public int Attribute(int device, int attribute)
    {
        int value;
        Check(cuDeviceGetAttribute(&value, attribute, device), "cuDeviceGetAttribute");
        return value;
    }

    public static byte[] Utf8z(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}

/// <summary>A CUDA driver call that failed, with the call's name and the driver's own description.</summary>
public sealed class CudaException(string call, int status, string description)
    : Exception($"{call} failed: {description}")
{
    public int Status { get; } = status;
}
