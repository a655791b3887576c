namespace ToyModels.Memory;

/// <summary>A run refused before it allocated anything: it would not fit in the memory available.</summary>
public sealed class MemoryRefusedException(MemoryEstimate estimate, AvailableMemory available, string what)
    : Exception($"{what} needs {MemoryEstimate.Format(estimate.HostToAdd)} more memory than this process holds " +
        $"({MemoryEstimate.Format(estimate.ResidentNow)}), but {available.Describe()} is available; " +
        $"its peak is estimated at {estimate.Describe()}")
{
    public MemoryEstimate Estimate { get; } = estimate;
    public AvailableMemory Available { get; } = available;
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
}
