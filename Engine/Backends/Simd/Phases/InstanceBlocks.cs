using System.Globalization;

namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// How many instances of a pack a training step takes through all its phases before it moves to the next ones.
/// A step that ran each phase over every instance would pass each phase's data through memory K times over
/// (at n 512, m 128 an instance's step touches about 9 MiB, so 64 instances are far past any cache); a block
/// whose working sets fit in the last-level cache keeps them there from phase to phase, as a run of one
/// instance alone does. The phases of a block still split over panels and features, so every instance of a
/// block trains on all threads.
/// </summary>
internal static class InstanceBlocks
{
    /// <summary>The share of the last-level cache a block's working set may fill (the rest: other processes and the runtime).</summary>
    public const double CacheShare = 0.5;

    /// <summary>
    /// Instances per block: as many as fit their working sets (<paramref name="bytesPerInstance"/> each) in
    /// <see cref="CacheShare"/> of <paramref name="cacheBytes"/>, at least 1 and at most <paramref name="instances"/>.
    /// </summary>
    public static int Size(long bytesPerInstance, long cacheBytes, int instances)
    {
        if (instances < 1) throw new ArgumentOutOfRangeException(nameof(instances), instances, "at least one instance");
        long fit = (long)(cacheBytes * CacheShare) / Math.Max(1, bytesPerInstance);
        return (int)Math.Clamp(fit, 1, instances);
    }

    /// <summary>The last-level data cache in bytes as Linux reports it for CPU 0, or <paramref name="fallback"/> where it cannot be read.</summary>
    public static long LastLevelCache(long fallback = 8L << 20)
    {
        try
        {
            var folder = new DirectoryInfo("/sys/devices/system/cpu/cpu0/cache");
            if (!folder.Exists) return fallback;
            (int Level, long Bytes) best = (0, 0);
            foreach (var index in folder.EnumerateDirectories("index*"))
            {
                string type = File.ReadAllText(Path.Combine(index.FullName, "type")).Trim();
                if (type == "Instruction") continue;
                int level = int.Parse(File.ReadAllText(Path.Combine(index.FullName, "level")).Trim(), CultureInfo.InvariantCulture);
                long bytes = ParseSize(File.ReadAllText(Path.Combine(index.FullName, "size")).Trim());
                if (level > best.Level && bytes > 0) best = (level, bytes);
            }
            return best.Bytes > 0 ? best.Bytes : fallback;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return fallback;
        }
    }

    /// <summary>A sysfs cache size: "32768K", "1M" or bytes.</summary>
    public static long ParseSize(string text)
    {
        long unit = text.EndsWith('K') ? 1L << 10 : text.EndsWith('M') ? 1L << 20 : text.EndsWith('G') ? 1L << 30 : 1;
        string digits = unit == 1 ? text : text[..^1];
        return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * unit;
    }
}
