using System.Text.RegularExpressions;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Memory;

/// <summary>
/// The issue's reproductions: runs that would not fit are refused before they allocate, with exit 2 and one line of
/// figures. The memory available is capped (<see cref="AvailableMemory.LimitVariable"/>) so that each is refused on any
/// machine, however large.
/// </summary>
[Trait("Category", "Slow")]
public partial class MemoryRefusalTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-refusal-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly Dictionary<string, string> Capped = new() { [AvailableMemory.LimitVariable] = "4096" };

    /// <summary>Exit 2 and, as the last line of stderr, the refusal with its figures.</summary>
    private static void AssertRefused(SampleProcess.Result result)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.Error}");
        string line = result.Error.Trim().Split('\n')[^1];
        Assert.Matches(Figures(), line);
        Assert.Contains($"{AvailableMemory.LimitVariable} 4.00 GiB", line);
        Assert.DoesNotContain("   at ", result.Error);
    }

    /// <summary>"needs 24.16 GiB more memory ... but 4.00 GiB (...) is available; its peak is estimated at 24.20 GiB (...)".</summary>
    [GeneratedRegex(@"^error: .* needs [0-9.]+ GiB more memory than this process holds \([0-9.]+ MiB\), but [0-9.]+ GiB \(.*\) is available; its peak is estimated at [0-9.]+ GiB \(.*\)")]
    private static partial Regex Figures();

    [Theory]
    [InlineData("--n", "1000000", "--m", "1", "--batch", "2000", "--steps", "5", "--eval-samples", "64")]
    [InlineData("--n", "16", "--m", "4", "--batch", "30000000", "--steps", "1")]
    [InlineData("--n", "1000000", "--m", "1", "--batch", "350", "--backend", "simd")]
    [InlineData("--n", "1000000", "--m", "1", "--batch", "1000", "--backend", "reference")]
    public void A_run_that_does_not_fit_is_refused_with_the_figures(params string[] args)
    {
        var result = SampleProcess.Run("train", [.. args, "--out", Path.Combine(_folder, "run")], Capped, timeoutSeconds: 60);
        AssertRefused(result);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(_folder, "run")) && Directory.EnumerateFiles(Path.Combine(_folder, "run")).Any(), "a refused run wrote files");
    }

    /// <summary>
    /// Memory the check cannot see (here the .NET heap capped below what the reference backend's arrays need) makes
    /// an allocation fail after the check: one line and exit 1, no stack trace.
    /// </summary>
    [Fact]
    public void An_allocation_that_fails_anyway_is_one_line_not_a_stack_trace()
    {
        var capped = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x10000000" }; // 256 MiB of managed heap
        var result = SampleProcess.Run("train", ["--n", "4096", "--m", "4096", "--batch", "8", "--steps", "1", "--backend", "reference",
            "--out", Path.Combine(_folder, "run")], capped, timeoutSeconds: 60);
        Assert.True(result.ExitCode == 1, $"exit {result.ExitCode}; stderr: {result.Error}");
        string line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith("error: out of memory", line);
        Assert.Contains("is available now", line);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public void A_checkpoint_whose_config_does_not_fit_is_refused_before_its_tensors_are_read()
    {
        var trained = SampleProcess.Run("train", ["--n", "16", "--m", "4", "--batch", "16", "--steps", "3", "--eval-samples", "0", "--backend", "reference",
            "--out", Path.Combine(_folder, "small")]);
        Assert.Equal(0, trained.ExitCode);
        var (metadata, tensors) = SafeTensors.Read(Path.Combine(_folder, "small", "model.safetensors"));
        var meta = new Dictionary<string, string>(metadata);
        Assert.Contains("\"batch\":16,", meta["config"]);
        meta["config"] = meta["config"].Replace("\"batch\":16,", "\"batch\":100000000,");
        string crafted = Path.Combine(_folder, "crafted.safetensors");
        SafeTensors.Write(crafted, tensors.Values.Select(t => new TensorSource(t.Name, t.Shape, t.Data)).ToList(), meta); // a valid checksum
        var result = SampleProcess.Run("train", ["--resume", crafted, "--steps", "5", "--out", Path.Combine(_folder, "resumed")], Capped, timeoutSeconds: 60);
        AssertRefused(result);
    }

    [Fact]
    public void A_grid_whose_pack_does_not_fit_is_refused_before_any_pack_trains()
    {
        string grid = Path.Combine(_folder, "grid.json");
        File.WriteAllText(grid, """{"name": "big", "n": [16, 1000000], "m": 1, "p": 0.05, "batch": 2000, "steps": 2, "eval_samples": 0}""");
        var result = SampleProcess.Run("sweep", ["--grid", grid, "--out", Path.Combine(_folder, "sweep"), "--quiet"], Capped, timeoutSeconds: 60);
        AssertRefused(result);
        Assert.Contains("the grid's largest pack", result.Error);
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(_folder, "sweep"), "*.csv", SearchOption.AllDirectories),
            f => File.ReadAllLines(f).Length > 1);
    }
}
