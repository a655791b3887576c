using System.Globalization;
using System.Text.Json;
using ToyModels.Tests.Support;
using Xunit.Abstractions;

namespace ToyModels.Tests.Memory;

/// <summary>
/// The memory estimate against what a run really takes: Samples/Train in a child process reports its peak RSS
/// (VmHWM, after training, evaluation and the checkpoint) next to the estimate it was checked against, for shapes
/// where each part of the estimate dominates in turn, on every host backend. The README's table is the same
/// measurement at sizes up to XL-untied (Benchmarks.dll memory).
/// </summary>
[Trait("Category", "Slow")]
public class PeakMemoryTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-peak-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static IEnumerable<object[]> Shapes =>
    [
        // parameters and Adam state (case L's shape at a quarter of its n and m)
        ["--n 4096 --m 1024 --batch 256 --p 0.005"],
        // dense activations and sparse x and g_z lists (a large batch of a small model, the shape scaled down)
        ["--n 16 --m 4 --batch 400000"],
        // sparse rows of a very wide model (the n 1000000, m 1, scaled down)
        ["--n 100000 --m 1 --batch 200"],
        // tied, SGD with momentum, 3 instances
        ["--n 2048 --m 256 --batch 512 --tied --optimizer sgd --momentum 0.9 --lr 0.01 --instances 3"],
        // the reference backend's arrays (a small batch and evaluation: its scalar loops are slow)
        ["--n 4096 --m 1024 --batch 32 --eval-samples 64 --backend reference"],
        // the lane layout: 256 small models, their activations written by evaluation
        ["--n 16 --m 8 --instances 256 --batch 2048"],
    ];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_estimate_is_within_15_percent_of_the_measured_peak(string shape)
    {
        string[] args = [.. shape.Split(' '), "--steps", "3", "--quiet", "--json", "--out", Path.Combine(_folder, "run")];
        if (!args.Contains("--eval-samples")) args = [.. args, "--eval-samples", "4096"];
        if (!args.Contains("--backend")) args = [.. args, "--backend", "simd"];
        var result = SampleProcess.Run("train", args);
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.LastLine);
        long estimate = json.RootElement.GetProperty("memory_estimate_bytes").GetInt64();
        long peak = json.RootElement.GetProperty("peak_rss_bytes").GetInt64();
        double ratio = (double)peak / estimate;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{shape}: estimate {estimate >> 20} MiB, peak {peak >> 20} MiB, peak/estimate {ratio:F3}"));
        Assert.InRange(ratio, 0.85, 1.15);
    }
}
