namespace ToyModels.Backends.Cuda;

/// <summary>One CUDA device as the driver describes it.</summary>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int Major, int Minor, long MemoryBytes, int Multiprocessors,
    int ClockKHz, int MemoryClockKHz, int MemoryBusWidthBits, int DriverVersion)
{
    /// <summary>"12.8" from the driver's 12080.</summary>
    public string DriverVersionText => $"{DriverVersion / 1000}.{DriverVersion % 1000 / 10}";

    /// <summary>Peak memory bandwidth from the clock and bus width (double data rate), in GB/s.</summary>
    public double TheoreticalGBps => 2.0 * MemoryClockKHz * 1e3 * (MemoryBusWidthBits / 8.0) / 1e9;

    public string Describe() => $"#{Ordinal} {Name} (sm_{Major}{Minor}, {MemoryBytes >> 20} MiB, {Multiprocessors} SMs, driver {DriverVersionText})";

    /// <summary>
    /// <see cref="Discover"/> that never throws: a driver that fails while it is asked (or a library without the
    /// entry points) gives no devices, with its message as the reason. For programs that only list devices.
    /// </summary>
    public static IReadOnlyList<CudaDeviceInfo> TryDiscover(out string? problem)
    {
        try { return Discover(out problem); }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
        {
            problem = e.Message;
            return [];
        }
    }

    /// <summary>Every device the driver sees; empty, with the reason, where there is no driver or no device.</summary>
    public static unsafe IReadOnlyList<CudaDeviceInfo> Discover(out string? problem)
    {
        var (driver, error) = CudaDriver.TryGet();
        if (driver is null)
        {
            problem = error;
            return [];
        }
        int count = 0, version = 0;
        driver.Check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        driver.Check(driver.cuDriverGetVersion(&version), "cuDriverGetVersion");
        var devices = new List<CudaDeviceInfo>();
        for (int ordinal = 0; ordinal < count; ordinal++)
        {
            int device;
            driver.Check(driver.cuDeviceGet(&device, ordinal), "cuDeviceGet");
            nuint memory;
            driver.Check(driver.cuDeviceTotalMem(&memory, device), "cuDeviceTotalMem");
            devices.Add(new CudaDeviceInfo(ordinal, driver.DeviceName(device),
                driver.Attribute(device, CudaDriver.AttributeComputeCapabilityMajor), driver.Attribute(device, CudaDriver.AttributeComputeCapabilityMinor),
                (long)memory, driver.Attribute(device, CudaDriver.AttributeMultiprocessorCount), driver.Attribute(device, CudaDriver.AttributeClockRateKHz),
                driver.Attribute(device, CudaDriver.AttributeMemoryClockRateKHz), driver.Attribute(device, CudaDriver.AttributeGlobalMemoryBusWidth), version));
        }
        problem = devices.Count == 0 ? "the CUDA driver sees no device" : null;
        return devices;
    }
}
