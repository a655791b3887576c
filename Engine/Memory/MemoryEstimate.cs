using System.Globalization;

namespace ToyModels.Memory;

/// <summary>Where a part of a run's memory lives: host RAM, or the memory of the device a GPU backend runs on.</summary>
public enum MemoryPlace
{
    /// <summary>The host's RAM.</summary>
    Host,
    /// <summary>The memory of the device a GPU backend runs on.</summary>
    Device,
}

/// <summary>
/// One part of a run's memory: <see cref="Bytes"/> it is expected to hold resident at the run's peak, out of
/// <see cref="Reserved"/> bytes of address space it allocates (more where a buffer is sized for the worst case and
/// only the part written becomes resident).
/// </summary>
public sealed record MemoryPart(string Name, long Bytes, MemoryPlace Place = MemoryPlace.Host, long Reserved = -1)
{
    /// <summary>Bytes of address space the part allocates, &gt;= <see cref="Bytes"/> (a negative value given means: as many as <see cref="Bytes"/>).</summary>
    public long Reserved { get; init; } = Reserved < 0 ? Bytes : Reserved;
}

/// <summary>
/// The peak memory of a run, part by part: what the process holds already (the .NET runtime and whatever the
/// program loaded), what the training code adds when it first runs, and each buffer of the backend and of the host
/// side of training (evaluation, checkpoint streaming). Backends list their own parts
/// (<see cref="Backends.BackendFactory.EstimateMemory"/>); a GPU backend lists its device buffers as
/// <see cref="MemoryPlace.Device"/> parts, which the host check leaves to the device.
/// </summary>
public sealed class MemoryEstimate
{
    /// <summary>An estimate of these parts; parts of no bytes at all are dropped.</summary>
    public MemoryEstimate(IEnumerable<MemoryPart> parts) => Parts = parts.Where(p => p.Bytes > 0 || p.Reserved > 0).ToArray();

    /// <summary>Every part, host and device, in the order given.</summary>
    public IReadOnlyList<MemoryPart> Parts { get; }

    /// <summary>Host bytes at the run's peak, with what the process holds already.</summary>
    public long Host => Sum(MemoryPlace.Host);
    /// <summary>Device bytes at the run's peak (0 for a host backend).</summary>
    public long Device => Sum(MemoryPlace.Device);

    /// <summary>The part of <see cref="Host"/> that is resident already when the estimate is made (not in MemAvailable any more).</summary>
    public long ResidentNow => Parts.Where(p => p.Name == ResidentName).Sum(p => p.Bytes);

    /// <summary>Host bytes the run still has to find: <see cref="Host"/> less what is resident already.</summary>
    public long HostToAdd => Host - ResidentNow;

    /// <summary>The name of the part that stands for the process's resident memory when the estimate is made.</summary>
    public const string ResidentName = "process now";

    /// <summary>A new estimate with <paramref name="parts"/> added to these.</summary>
    public MemoryEstimate With(params MemoryPart[] parts) => new(Parts.Concat(parts));

    private long Sum(MemoryPlace place) => Parts.Where(p => p.Place == place).Sum(p => p.Bytes);

    /// <summary>
    /// "5.02 GiB (optimizer state 2.00 GiB, parameters 1.00 GiB, ..., 9 more 30.2 MiB)": the parts of at least 1% of
    /// the total, largest first, then the rest together; host only or device only.
    /// </summary>
    public string Describe(MemoryPlace place = MemoryPlace.Host)
    {
        long total = Sum(place);
        var parts = Parts.Where(p => p.Place == place && p.Bytes > 0).OrderByDescending(p => p.Bytes).ToList();
        var large = parts.Where(p => p.Bytes * 100 >= total).ToList();
        var named = large.Select(p => $"{p.Name} {Format(p.Bytes)}").ToList();
        if (parts.Count > large.Count) named.Add($"{parts.Count - large.Count} more {Format(parts.Skip(large.Count).Sum(p => p.Bytes))}");
        return $"{Format(total)} ({string.Join(", ", named)})";
    }

    /// <summary>Bytes for people: "2.00 GiB", "30.2 MiB" or "512 KiB".</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F0} KiB"),
    };
}
