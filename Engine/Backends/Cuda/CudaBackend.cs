using ToyModels.Backends.Device;
using ToyModels.Model;

namespace ToyModels.Backends.Cuda;

/// <summary>
/// The CUDA backend: <see cref="DeviceBackend"/> on a CUDA device through the driver API, with the shared
/// kernel source compiled by NVRTC for the device's own architecture (a CUBIN, cached on disk).
/// </summary>
public static class CudaBackend
{
    /// <summary>A backend on CUDA device <paramref name="device"/> (the driver's ordinal), with zero state.</summary>
    /// <exception cref="BackendUnavailableException">No driver, no NVRTC, no device, or kernels that do not compile.</exception>
    /// <exception cref="ConfigException">No device with that number.</exception>
    public static IBackend Create(AutoencoderConfig config, int device = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        var devices = CudaDeviceInfo.Discover(out string? problem);
        if (problem is not null) throw new BackendUnavailableException("cuda: " + problem);
        if (device < 0 || device >= devices.Count)
            throw new ConfigException("device", device, $"a CUDA device number, 0 .. {devices.Count - 1}: " + string.Join("; ", devices.Select(d => d.Describe())));
        return Open(config, devices[device]);
    }

    internal static IBackend Open(AutoencoderConfig config, CudaDeviceInfo device) =>
        new DeviceBackend(config, new CudaDevice(CudaProgram.For(device)));

    /// <summary>For auto: device <paramref name="index"/> when the driver and NVRTC are present, else null and why.</summary>
    internal static CudaDeviceInfo? Find(int index, out string reason)
    {
        var devices = CudaDeviceInfo.Discover(out string? problem);
        if (problem is not null)
        {
            reason = problem;
            return null;
        }
        if (Nvrtc.TryGet() is (null, string missing))
        {
            reason = missing;
            return null;
        }
        if (index >= devices.Count)
        {
            reason = $"no CUDA device number {index} ({devices.Count} found)";
            return null;
        }
        reason = "";
        return devices[index];
    }
}
