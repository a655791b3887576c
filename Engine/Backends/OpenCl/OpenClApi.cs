using System.Runtime.InteropServices;

namespace ToyModels.Backends.OpenCl;

/// <summary>
/// The OpenCL 1.2 functions the engine calls, bound to the ICD loader (libOpenCL.so.1) with
/// source-generated, blittable P/Invoke: no runtime marshalling and no reflection, so it survives
/// trimming and AOT. Handles (cl_platform_id, cl_context, cl_mem, ...) are nint; cl_uint is uint,
/// cl_int int, cl_bitfield ulong, size_t nuint.
/// </summary>
internal static unsafe partial class OpenClApi
{
    public const string Library = "libOpenCL.so.1";

    public const int Success = 0;
    public const int DeviceNotFound = -1;
    public const int PlatformNotFoundKhr = -1001;

    public const ulong DeviceTypeCpu = 1 << 1, DeviceTypeGpu = 1 << 2, DeviceTypeAccelerator = 1 << 3, DeviceTypeAll = 0xFFFFFFFF;

    public const uint PlatformName = 0x0902;
    public const uint DeviceType = 0x1000, DeviceMaxComputeUnits = 0x1002, DeviceSingleFpConfig = 0x101B,
        DeviceGlobalMemSize = 0x101F, DeviceMaxMemAllocSize = 0x1010, DeviceName = 0x102B, DriverVersion = 0x102D;
    public const ulong FpDenorm = 1 << 0, FpFma = 1 << 5, FpCorrectlyRoundedDivideSqrt = 1 << 7;
    public const uint ProgramBuildLog = 0x1183;
    public const uint KernelWorkGroupSize = 0x11B0;
    public const ulong MemReadWrite = 1 << 0;

    [LibraryImport(Library)] public static partial int clGetPlatformIDs(uint entries, nint* platforms, uint* count);
    [LibraryImport(Library)] public static partial int clGetPlatformInfo(nint platform, uint name, nuint size, void* value, nuint* sizeReturned);
    [LibraryImport(Library)] public static partial int clGetDeviceIDs(nint platform, ulong type, uint entries, nint* devices, uint* count);
    [LibraryImport(Library)] public static partial int clGetDeviceInfo(nint device, uint name, nuint size, void* value, nuint* sizeReturned);

    [LibraryImport(Library)] public static partial nint clCreateContext(nint* properties, uint deviceCount, nint* devices, nint notify, nint userData, int* error);
    [LibraryImport(Library)] public static partial nint clCreateCommandQueue(nint context, nint device, ulong properties, int* error);
    [LibraryImport(Library)] public static partial nint clCreateProgramWithSource(nint context, uint count, byte** strings, nuint* lengths, int* error);
    [LibraryImport(Library)] public static partial int clBuildProgram(nint program, uint deviceCount, nint* devices, byte* options, nint notify, nint userData);
    [LibraryImport(Library)] public static partial int clGetProgramBuildInfo(nint program, nint device, uint name, nuint size, void* value, nuint* sizeReturned);
    [LibraryImport(Library)] public static partial nint clCreateKernel(nint program, byte* name, int* error);
    [LibraryImport(Library)] public static partial int clGetKernelWorkGroupInfo(nint kernel, nint device, uint name, nuint size, void* value, nuint* sizeReturned);
    [LibraryImport(Library)] public static partial nint clCreateBuffer(nint context, ulong flags, nuint size, void* host, int* error);

    [LibraryImport(Library)] public static partial int clSetKernelArg(nint kernel, uint index, nuint size, void* value);
    [LibraryImport(Library)]
    public static partial int clEnqueueNDRangeKernel(nint queue, nint kernel, uint dimensions, nuint* offset, nuint* global, nuint* local,
        uint waitCount, nint* waitList, nint* done);
    [LibraryImport(Library)]
    public static partial int clEnqueueWriteBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* source,
        uint waitCount, nint* waitList, nint* done);
    [LibraryImport(Library)]
    public static partial int clEnqueueReadBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* destination,
        uint waitCount, nint* waitList, nint* done);
    [LibraryImport(Library)]
    public static partial int clEnqueueFillBuffer(nint queue, nint buffer, void* pattern, nuint patternSize, nuint offset, nuint size,
        uint waitCount, nint* waitList, nint* done);
    [LibraryImport(Library)] public static partial int clFlush(nint queue);
    [LibraryImport(Library)] public static partial int clFinish(nint queue);
    [LibraryImport(Library)] public static partial int clWaitForEvents(uint count, nint* events);

    [LibraryImport(Library)] public static partial int clReleaseEvent(nint handle);
    [LibraryImport(Library)] public static partial int clReleaseMemObject(nint handle);
    [LibraryImport(Library)] public static partial int clReleaseKernel(nint handle);
    [LibraryImport(Library)] public static partial int clReleaseCommandQueue(nint handle);
    [LibraryImport(Library)] public static partial int clReleaseProgram(nint handle);
    [LibraryImport(Library)] public static partial int clReleaseContext(nint handle);

    /// <summary>Throws <see cref="OpenClException"/> unless <paramref name="status"/> is CL_SUCCESS.</summary>
    public static void Check(int status, string function)
    {
        if (status != Success) throw new OpenClException(function, status);
    }

    /// <summary>A string-valued info query (platform or device), trimmed of its terminating zero.</summary>
    public static string InfoString(delegate*<nint, uint, nuint, void*, nuint*, int> query, nint handle, uint name, string function)
    {
        nuint size;
        Check(query(handle, name, 0, null, &size), function);
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes) Check(query(handle, name, size, p, null), function);
        return System.Text.Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
    }

    /// <summary>A fixed-size info value (cl_uint, cl_ulong, size_t, bitfields).</summary>
    public static T Info<T>(delegate*<nint, uint, nuint, void*, nuint*, int> query, nint handle, uint name, string function) where T : unmanaged
    {
        T value = default;
        Check(query(handle, name, (nuint)sizeof(T), &value, null), function);
        return value;
    }

    /// <summary>The name of an OpenCL status code, for messages.</summary>
    public static string ErrorName(int status) => status switch
    {
        0 => "CL_SUCCESS",
        -1 => "CL_DEVICE_NOT_FOUND",
        -2 => "CL_DEVICE_NOT_AVAILABLE",
        -3 => "CL_COMPILER_NOT_AVAILABLE",
        -4 => "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5 => "CL_OUT_OF_RESOURCES",
        -6 => "CL_OUT_OF_HOST_MEMORY",
        -11 => "CL_BUILD_PROGRAM_FAILURE",
        -30 => "CL_INVALID_VALUE",
        -32 => "CL_INVALID_PLATFORM",
        -33 => "CL_INVALID_DEVICE",
        -34 => "CL_INVALID_CONTEXT",
        -36 => "CL_INVALID_COMMAND_QUEUE",
        -38 => "CL_INVALID_MEM_OBJECT",
        -43 => "CL_INVALID_BUILD_OPTIONS",
        -44 => "CL_INVALID_PROGRAM",
        -45 => "CL_INVALID_PROGRAM_EXECUTABLE",
        -46 => "CL_INVALID_KERNEL_NAME",
        -48 => "CL_INVALID_KERNEL",
        -49 => "CL_INVALID_ARG_INDEX",
        -50 => "CL_INVALID_ARG_VALUE",
        -51 => "CL_INVALID_ARG_SIZE",
        -52 => "CL_INVALID_KERNEL_ARGS",
        -53 => "CL_INVALID_WORK_DIMENSION",
        -54 => "CL_INVALID_WORK_GROUP_SIZE",
        -55 => "CL_INVALID_WORK_ITEM_SIZE",
        -61 => "CL_INVALID_BUFFER_SIZE",
        -63 => "CL_INVALID_GLOBAL_WORK_SIZE",
        -1001 => "CL_PLATFORM_NOT_FOUND_KHR",
        _ => "OpenCL error",
    };
}

/// <summary>An OpenCL call that failed while the backend was running: the function and the status code.</summary>
public sealed class OpenClException(string function, int status)
    : Exception($"OpenCL: {function} failed with {OpenClApi.ErrorName(status)} ({status})")
{
    public string Function { get; } = function;
    public int Status { get; } = status;
}
