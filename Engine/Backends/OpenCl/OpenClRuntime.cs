using System.Runtime.InteropServices;

namespace ToyModels.Backends.OpenCl;

/// <summary>
/// The OpenCL runtime of this process: is there one, which devices does it offer, and the training
/// program built once per device (context and program live as long as the process, shared by every
/// backend on that device; each backend has its own queue, kernels and buffers).
/// </summary>
internal static unsafe class OpenClRuntime
{
    private sealed record Discovery(IReadOnlyList<OpenClDeviceInfo> Devices, string? Problem);

    private static readonly Lazy<Discovery> Found = new(Discover);
    private static readonly Dictionary<int, Lazy<OpenClProgram>> Programs = [];

    /// <summary>Why <paramref name="library"/> (the ICD loader) cannot be loaded, or null when it can.</summary>
    public static string? LibraryProblem(string library = OpenClApi.Library)
    {
        if (NativeLibrary.TryLoad(library, out _)) return null;
        return $"no OpenCL runtime: {library} could not be loaded (install an OpenCL ICD loader and a driver, " +
            "e.g. Debian's ocl-icd-libopencl1 with pocl-opencl-icd, or the GPU vendor's driver)";
    }

    /// <summary>Every device of every platform, in discovery order (the --device numbers).</summary>
    /// <exception cref="BackendUnavailableException">No OpenCL runtime, or no platform or device in it.</exception>
    public static IReadOnlyList<OpenClDeviceInfo> Devices()
    {
        var found = Found.Value;
        if (found.Problem is not null) throw new BackendUnavailableException("opencl: " + found.Problem);
        return found.Devices;
    }

    /// <summary>The devices, or why there are none (without throwing).</summary>
    public static IReadOnlyList<OpenClDeviceInfo> TryDevices(out string? problem)
    {
        var found = Found.Value;
        problem = found.Problem;
        return found.Devices;
    }

    /// <summary>The training program for this device, built on first use.</summary>
    /// <exception cref="BackendUnavailableException">The device is refused, or the program does not build (with the build log).</exception>
    public static OpenClProgram Program(OpenClDeviceInfo device)
    {
        if (device.ParityProblem() is string problem) throw new BackendUnavailableException("opencl: " + problem);
        Lazy<OpenClProgram> program;
        lock (Programs)
        {
            if (!Programs.TryGetValue(device.Index, out program!))
                Programs[device.Index] = program = new Lazy<OpenClProgram>(() => OpenClProgram.BuildTraining(device));
        }
        return program.Value;
    }

    private static Discovery Discover()
    {
        if (LibraryProblem() is string missing) return new([], missing);
        try
        {
            uint count;
            int status = OpenClApi.clGetPlatformIDs(0, null, &count);
            if (status == OpenClApi.PlatformNotFoundKhr || (status == OpenClApi.Success && count == 0))
                return new([], $"no OpenCL platform: the ICD loader ({OpenClApi.Library}) found no driver (see /etc/OpenCL/vendors)");
            OpenClApi.Check(status, "clGetPlatformIDs");
            var platforms = new nint[count];
            fixed (nint* p = platforms) OpenClApi.Check(OpenClApi.clGetPlatformIDs(count, p, null), "clGetPlatformIDs");

            var devices = new List<OpenClDeviceInfo>();
            foreach (nint platform in platforms)
            {
                string platformName = OpenClApi.InfoString(&OpenClApi.clGetPlatformInfo, platform, OpenClApi.PlatformName, "clGetPlatformInfo");
                uint deviceCount;
                status = OpenClApi.clGetDeviceIDs(platform, OpenClApi.DeviceTypeAll, 0, null, &deviceCount);
                if (status == OpenClApi.DeviceNotFound) continue;
                OpenClApi.Check(status, "clGetDeviceIDs");
                var ids = new nint[deviceCount];
                fixed (nint* d = ids) OpenClApi.Check(OpenClApi.clGetDeviceIDs(platform, OpenClApi.DeviceTypeAll, deviceCount, d, null), "clGetDeviceIDs");
                foreach (nint id in ids) devices.Add(Describe(devices.Count, platform, platformName, id));
            }
            return devices.Count == 0 ? new([], "no OpenCL device: the platforms found offer none") : new(devices, null);
        }
        catch (Exception e) when (e is OpenClException or EntryPointNotFoundException or DllNotFoundException)
        {
            return new([], $"the OpenCL runtime does not work: {e.Message}");
        }
    }

    private static OpenClDeviceInfo Describe(int index, nint platform, string platformName, nint device)
    {
        delegate*<nint, uint, nuint, void*, nuint*, int> query = &OpenClApi.clGetDeviceInfo;
        const string f = "clGetDeviceInfo";
        return new OpenClDeviceInfo(
            index, platform, device, platformName,
            Name: OpenClApi.InfoString(query, device, OpenClApi.DeviceName, f),
            DriverVersion: OpenClApi.InfoString(query, device, OpenClApi.DriverVersion, f),
            Type: OpenClApi.Info<ulong>(query, device, OpenClApi.DeviceType, f),
            SingleFpConfig: OpenClApi.Info<ulong>(query, device, OpenClApi.DeviceSingleFpConfig, f),
            ComputeUnits: (int)OpenClApi.Info<uint>(query, device, OpenClApi.DeviceMaxComputeUnits, f),
            GlobalMemoryBytes: (long)OpenClApi.Info<ulong>(query, device, OpenClApi.DeviceGlobalMemSize, f),
            MaxAllocationBytes: (long)OpenClApi.Info<ulong>(query, device, OpenClApi.DeviceMaxMemAllocSize, f));
    }
}
