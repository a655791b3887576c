using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Tests.Memory;

/// <summary>The memory a run may take, read from made-up /proc and cgroup trees of each kind.</summary>
public class AvailableMemoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("toymodels-available-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Proc(long memAvailableKiB, string cgroupLines)
    {
        string proc = Path.Combine(_root, "proc");
        Directory.CreateDirectory(Path.Combine(proc, "self"));
        File.WriteAllText(Path.Combine(proc, "meminfo"), $"MemTotal:       24684096 kB\nMemFree:         1000000 kB\nMemAvailable:   {memAvailableKiB} kB\nBuffers:           1 kB\n");
        File.WriteAllText(Path.Combine(proc, "self", "cgroup"), cgroupLines);
        return proc;
    }

    private string Write(string relative, string text)
    {
        string path = Path.Combine(_root, "cgroup", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private string Mount => Path.Combine(_root, "cgroup");

    [Fact]
    public void Without_a_cgroup_limit_MemAvailable_is_what_is_available()
    {
        string proc = Proc(20L << 20, "0::/user.slice\n");
        Write("cgroup.controllers", "cpu memory\n");
        Write("user.slice/memory.max", "max\n");
        var available = AvailableMemory.Read(proc, Mount, null);
        Assert.Equal(20L << 30, available.Bytes);
        Assert.Empty(available.Cgroups);
        Assert.Equal("20.00 GiB (MemAvailable 20.00 GiB)", available.Describe());
    }

    [Fact]
    public void A_cgroup_v2_limit_counts_with_its_ancestors_and_reclaimable_file_cache_counts_as_free()
    {
        string proc = Proc(20L << 20, "0::/jobs/run\n");
        Write("cgroup.controllers", "cpu memory\n");
        Write("jobs/memory.max", $"{8L << 30}\n");
        Write("jobs/memory.current", $"{3L << 30}\n");
        Write("jobs/memory.stat", $"anon {2L << 30}\ninactive_file {1L << 30}\n");
        Write("jobs/run/memory.max", $"{6L << 30}\n");
        Write("jobs/run/memory.current", $"{2L << 30}\n");
        Write("jobs/run/memory.stat", $"anon {1L << 30}\ninactive_file {512L << 20}\n");
        var available = AvailableMemory.Read(proc, Mount, null);
        // run: 6 - (2 - 0.5) = 4.5 GiB; jobs: 8 - (3 - 1) = 6 GiB; MemAvailable 20 GiB.
        Assert.Equal(4608L << 20, available.Bytes);
        Assert.Equal(["/jobs/run", "/jobs"], available.Cgroups.Select(c => c.Path));
        Assert.Contains("cgroup /jobs/run: limit 6.00 GiB, 4.50 GiB free", available.Describe());
    }

    [Fact]
    public void A_cgroup_v1_memory_limit_is_read_and_the_unlimited_value_ignored()
    {
        string proc = Proc(20L << 20, "5:cpu,cpuacct:/\n4:memory:/process_api/abc\n0::/\n");
        Write("memory/memory.limit_in_bytes", "9223372036854771712\n");
        Write("memory/process_api/memory.limit_in_bytes", "9223372036854771712\n");
        Write("memory/process_api/abc/memory.limit_in_bytes", $"{6L << 30}\n");
        Write("memory/process_api/abc/memory.usage_in_bytes", $"{1L << 30}\n");
        Write("memory/process_api/abc/memory.stat", $"cache 1\ninactive_file 5\ntotal_inactive_file {256L << 20}\n");
        var available = AvailableMemory.Read(proc, Mount, null);
        Assert.Equal((6L << 30) - (768L << 20), available.Bytes);
        Assert.Single(available.Cgroups);
    }

    [Fact]
    public void Inside_a_cgroup_namespace_the_mount_root_is_the_processes_own_cgroup()
    {
        string proc = Proc(20L << 20, "0::/\n");
        Write("cgroup.controllers", "memory\n");
        Write("memory.max", $"{6L << 30}\n");
        Write("memory.current", $"{1L << 30}\n");
        Assert.Equal(5L << 30, AvailableMemory.Read(proc, Mount, null).Bytes);
    }

    [Fact]
    public void The_users_cap_lowers_it_and_a_bad_cap_names_the_variable()
    {
        string proc = Proc(20L << 20, "0::/\n");
        var capped = AvailableMemory.Read(proc, Mount, "4096");
        Assert.Equal(4L << 30, capped.Bytes);
        Assert.Contains($"{AvailableMemory.LimitVariable} 4.00 GiB", capped.Describe());
        var error = Assert.Throws<ConfigException>(() => AvailableMemory.Read(proc, Mount, "4 GiB"));
        Assert.Equal(AvailableMemory.LimitVariable, error.Field);
    }

    [Fact]
    public void This_machine_reports_something()
    {
        var now = AvailableMemory.Now();
        Assert.True(now.Bytes > 0, now.Describe());
    }
}
