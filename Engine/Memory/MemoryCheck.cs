namespace ToyModels.Memory;

/// <summary>A run refused before it allocated anything: it would not fit in the memory available (host or device).</summary>
public sealed class MemoryRefusedException : Exception
{
    /// <summary>The host part of <paramref name="estimate"/> does not fit in <paramref name="available"/>.</summary>
    internal MemoryRefusedException(MemoryEstimate estimate, AvailableMemory available, string what)
        : base($"{what} needs {MemoryEstimate.Format(estimate.HostToAdd)} more memory than this process holds " +
            $"({MemoryEstimate.Format(estimate.ResidentNow)}), but {available.Describe()} is available; " +
            $"its peak is estimated at {estimate.Describe()}")
    {
        Estimate = estimate;
        Available = available;
    }

    private MemoryRefusedException(MemoryEstimate estimate, string message) : base(message) => Estimate = estimate;

    /// <summary>The device part of <paramref name="estimate"/> is more than the <paramref name="deviceBytes"/> the device has.</summary>
    internal static MemoryRefusedException OnDevice(MemoryEstimate estimate, long deviceBytes, string device, string what) =>
        new(estimate, $"{what} needs {estimate.Describe(MemoryPlace.Device)} of device memory, but {device} has " +
            $"{MemoryEstimate.Format(deviceBytes)}");

    /// <summary>The estimate of the run that was refused, part by part.</summary>
    public MemoryEstimate Estimate { get; }
    /// <summary>The host memory available when the run was refused (null when the device refused it).</summary>
    public AvailableMemory? Available { get; }
}

/// <summary>Refuses a run whose estimated peak does not fit in the memory actually available now.</summary>
public static class MemoryCheck
{
    /// <summary>Throws <see cref="MemoryRefusedException"/> when the host part of <paramref name="estimate"/> does not fit.</summary>
    public static void Require(MemoryEstimate estimate, string what)
    {
        var available = AvailableMemory.Now();
        if (estimate.HostToAdd > available.Bytes) throw new MemoryRefusedException(estimate, available, what);
    }

    /// <summary>Throws <see cref="MemoryRefusedException"/> when the device part of <paramref name="estimate"/> is more than the device has.</summary>
    internal static void RequireDevice(MemoryEstimate estimate, long deviceBytes, string device, string what)
    {
        if (estimate.Device > deviceBytes) throw MemoryRefusedException.OnDevice(estimate, deviceBytes, device, what);
    }
}
