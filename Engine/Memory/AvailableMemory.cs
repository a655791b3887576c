using System.Globalization;

namespace ToyModels.Memory;

/// <summary>
/// The memory a run may still take, and where that figure comes from: the kernel's MemAvailable (free memory
/// plus what it can reclaim without swapping), the free room under every memory cgroup limit above this process
/// (v2 memory.max, v1 memory.limit_in_bytes; reclaimable file cache counts as free, as the kernel reclaims it
/// before it kills), and the user's own cap, environment variable <see cref="LimitVariable"/>.
/// </summary>
public sealed record AvailableMemory(long Bytes, long? MemAvailable, IReadOnlyList<CgroupRoom> Cgroups, long? UserLimit)
{
    /// <summary>Caps what a run may take, in MiB, as if the machine had only that much free (shared machines, tests).</summary>
    public const string LimitVariable = "TOYMODELS_MAX_MEMORY_MIB";

    /// <summary>This machine and process now.</summary>
    public static AvailableMemory Now() => Read("/proc", "/sys/fs/cgroup", Environment.GetEnvironmentVariable(LimitVariable));

    /// <summary>
    /// From a /proc and a cgroup mount at the given roots (tests point them at made-up trees). Where neither tells
    /// anything (not Linux), the .NET runtime's idea of available memory stands in.
    /// </summary>
    internal static AvailableMemory Read(string proc, string cgroupMount, string? userLimitMiB)
    {
        long? memAvailable = MemInfo(Path.Combine(proc, "meminfo"));
        var cgroups = LimitedCgroups(Path.Combine(proc, "self", "cgroup"), cgroupMount);
        long? user = null;
        if (!string.IsNullOrWhiteSpace(userLimitMiB))
        {
            if (!long.TryParse(userLimitMiB.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long mib) || mib > 1L << 40)
                throw new Model.ConfigException(LimitVariable, userLimitMiB, "a whole number of MiB (the environment variable that caps a run's memory)");
            user = mib << 20;
        }
        long bytes = memAvailable ?? Math.Max(0, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        foreach (var room in cgroups) bytes = Math.Min(bytes, room.Free);
        if (user is long cap) bytes = Math.Min(bytes, cap);
        return new AvailableMemory(Math.Max(0, bytes), memAvailable, cgroups, user);
    }

    /// <summary>"18.20 GiB (MemAvailable 18.20 GiB; cgroup /a/b: limit 6.00 GiB, 5.10 GiB free)".</summary>
    public string Describe()
    {
        var sources = new List<string>();
        if (MemAvailable is long available) sources.Add($"MemAvailable {MemoryEstimate.Format(available)}");
        foreach (var room in Cgroups) sources.Add($"cgroup {room.Path}: limit {MemoryEstimate.Format(room.Limit)}, {MemoryEstimate.Format(room.Free)} free");
        if (UserLimit is long user) sources.Add($"{LimitVariable} {MemoryEstimate.Format(user)}");
        return sources.Count == 0 ? MemoryEstimate.Format(Bytes) : $"{MemoryEstimate.Format(Bytes)} ({string.Join("; ", sources)})";
    }

    private static long? MemInfo(string path)
    {
        var text = TryRead(path);
        if (text is null) return null;
        foreach (var line in text.Split('\n'))
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal) && Number(line["MemAvailable:".Length..].Replace("kB", "")) is long kib)
                return kib * 1024;
        return null;
    }

    /// <summary>Every memory cgroup from this process's own up to the mount's root that has a limit.</summary>
    private static List<CgroupRoom> LimitedCgroups(string selfCgroup, string mount)
    {
        var rooms = new List<CgroupRoom>();
        var lines = TryRead(selfCgroup)?.Split('\n', StringSplitOptions.RemoveEmptyEntries) ?? [];
        bool unified = File.Exists(Path.Combine(mount, "cgroup.controllers"));
        // v2: "0::/path" under the mount; v1: "N:memory:/path" (or a list with memory) under mount/memory.
        string? relative = null, root = null;
        foreach (var line in lines)
        {
            var fields = line.Split(':', 3);
            if (fields.Length != 3) continue;
            if (unified && fields[0] == "0" && fields[1] == "") (relative, root) = (fields[2], mount);
            if (!unified && fields[1].Split(',').Contains("memory")) (relative, root) = (fields[2], Path.Combine(mount, "memory"));
        }
        if (relative is null || root is null || !Directory.Exists(root)) return rooms;
        string directory = Path.Combine(root, relative.TrimStart('/'));
        // Inside a cgroup namespace the mount's root is this process's cgroup, and the path may not exist below it.
        if (!Directory.Exists(directory)) directory = root;
        string rootFull = Path.GetFullPath(root);
        for (var d = Path.GetFullPath(directory); d.StartsWith(rootFull, StringComparison.Ordinal); d = Path.GetDirectoryName(d) ?? "")
        {
            var room = unified ? Room(d, "memory.max", "memory.current", "inactive_file") : Room(d, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file");
            if (room is not null) rooms.Add(room with { Path = "/" + Path.GetRelativePath(rootFull, d).Replace('\\', '/').TrimStart('.') });
            if (d.Length <= rootFull.Length) break;
        }
        return rooms;
    }

    /// <summary>A cgroup directory's limit and free room, or null without a limit ("max", or v1's "unlimited" near 2^63).</summary>
    private static CgroupRoom? Room(string directory, string limitFile, string usageFile, string inactiveKey)
    {
        if (Number(TryRead(Path.Combine(directory, limitFile))) is not long limit || limit >= 1L << 60) return null;
        long usage = Number(TryRead(Path.Combine(directory, usageFile))) ?? 0;
        long inactive = 0;
        foreach (var line in TryRead(Path.Combine(directory, "memory.stat"))?.Split('\n') ?? [])
        {
            var parts = line.Split(' ', 2);
            if (parts.Length == 2 && parts[0] == inactiveKey && Number(parts[1]) is long value) inactive = value;
        }
        return new CgroupRoom(directory, limit, Math.Max(0, limit - Math.Max(0, usage - inactive)));
    }

    private static long? Number(string? text) =>
        text is not null && long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : null;

    private static string? TryRead(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}

/// <summary>A memory cgroup with a limit: its path under the mount, the limit and the room left (limit less non-reclaimable usage).</summary>
public sealed record CgroupRoom(string Path, long Limit, long Free);
