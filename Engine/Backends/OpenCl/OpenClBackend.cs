using ToyModels.Backends.Device;
using ToyModels.Model;

namespace ToyModels.Backends.OpenCl;

/// <summary>
/// The OpenCL backend: <see cref="DeviceBackend"/> on an OpenCL device, bit for bit the reference.
/// Any device that passes the parity checks (<see cref="OpenClDeviceInfo.ParityProblem"/>) may be
/// chosen explicitly, CPU devices such as POCL included; auto picks only GPUs.
/// </summary>
public static class OpenClBackend
{
    /// <summary>A backend on OpenCL device <paramref name="device"/> (numbered across all platforms), with zero state.</summary>
    /// <exception cref="BackendUnavailableException">No OpenCL runtime, a refused device, or kernels that do not build.</exception>
    /// <exception cref="ConfigException">No device with that number.</exception>
    public static IBackend Create(AutoencoderConfig config, int device = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        var devices = OpenClRuntime.Devices();
        if (device < 0 || device >= devices.Count)
            throw new ConfigException("device", device, $"an OpenCL device number, 0 .. {devices.Count - 1}: " +
                string.Join("; ", devices.Select(d => d.Describe())));
        return Open(config, devices[device]);
    }

    internal static IBackend Open(AutoencoderConfig config, OpenClDeviceInfo device) =>
        new DeviceBackend(config, new OpenClDevice(OpenClRuntime.Program(device)));

    /// <summary>
    /// For auto: the <paramref name="index"/>-th OpenCL GPU that can compute the engine's bits, or null
    /// with <paramref name="reason"/> saying why not. CPU devices (POCL and the like) are never
    /// offered: the SIMD backend is faster on the same cores.
    /// </summary>
    internal static OpenClDeviceInfo? FindGpu(int index, out string reason)
    {
        var devices = OpenClRuntime.TryDevices(out string? problem);
        if (problem is not null)
        {
            reason = problem;
            return null;
        }
        var gpus = devices.Where(d => d.IsGpu).ToList();
        var usable = gpus.Where(d => d.ParityProblem() is null).ToList();
        if (index < usable.Count)
        {
            reason = "";
            return usable[index];
        }
        reason = gpus.Count == 0
            ? $"no OpenCL GPU (OpenCL devices here: {string.Join("; ", devices.Select(d => d.Describe()))})"
            : usable.Count == 0
                ? string.Join("; ", gpus.Select(d => d.ParityProblem()))
                : $"no OpenCL GPU number {index} that computes the engine's bits ({usable.Count} found)";
        return null;
    }
}
