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

    /// <summary>
    /// Whether a whole step of a pack gives each of several threads whole instances rather than taking instances one
    /// block after another on all threads: when the pack has at least one instance per thread and its parameters and
    /// optimizer state (<paramref name="stateBytesPerInstance"/> each) together with one instance's activations do not
    /// fit in <see cref="WholeShare"/> of the last-level cache. While they fit, a step of the pack keeps all of it in
    /// cache, as a run alone does, and every thread on one instance at a time loses nothing; two instances at once
    /// would double the activations in cache. Once they no longer fit, each instance's state comes from memory either
    /// way, and a thread that takes whole instances saves the barriers between phases.
    /// </summary>
    public static bool WholePerThread(int instances, int threads, long stateBytesPerInstance, long activationBytes, long cacheBytes) =>
        threads > 1 && instances >= threads && instances * stateBytesPerInstance + activationBytes > (long)(cacheBytes * WholeShare);

    /// <summary>
    /// The share of the last-level cache a pack's state may fill and still run block by block. Measured on 2 Zen 3 cores
    /// (32 MiB L3; n 512, m 128, B 1024: 1.6 MB of state per instance, 7.3 MB of activations): blocks of one instance
    /// ran 5-8% faster than whole instances per thread at K 2, 4 and 8 (20 MB at K 8), 11% slower at K 16 (33 MB).
    /// </summary>
    public const double WholeShare = 0.75;

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
