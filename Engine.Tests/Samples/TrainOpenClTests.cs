using System.Text.Json;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

/// <summary>Samples/Train with --backend opencl and auto: same weights as the reference, clear failures without a runtime.</summary>
[Trait("Category", "Slow")]
public class TrainOpenClTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-train-opencl-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly string[] Small = ["--n", "150", "--m", "13", "--batch", "40", "--p", "0.1", "--eval-samples", "100", "--steps", "25", "--json", "--quiet"];

    /// <summary>An ICD loader pointed at an empty vendor folder finds no platform: an OpenCL runtime with no driver.</summary>
    private Dictionary<string, string> NoDriver()
    {
        string vendors = Directory.CreateDirectory(Path.Combine(_folder, "no-vendors")).FullName;
        return new() { ["OCL_ICD_VENDORS"] = vendors };
    }

    private static string Hash(SampleProcess.Result r) => JsonDocument.Parse(r.LastLine).RootElement.GetProperty("weights_sha256").GetString()!;

    [SkippableFact]
    public void Opencl_trains_to_the_weights_of_the_reference()
    {
        Skip.If(OpenClTestDevice.SkipReason is not null, OpenClTestDevice.SkipReason);
        var reference = SampleProcess.Run("train", [.. Small, "--backend", "reference", "--out", Path.Combine(_folder, "reference")]);
        var openCl = SampleProcess.Run("train", [.. Small, "--backend", "opencl", "--device", OpenClTestDevice.Index.ToString(),
            "--out", Path.Combine(_folder, "opencl")]);
        Assert.True(reference.ExitCode == 0, reference.Error);
        Assert.True(openCl.ExitCode == 0, openCl.Error);
        Assert.Equal("opencl", JsonDocument.Parse(openCl.LastLine).RootElement.GetProperty("backend").GetString());
        Assert.Equal(Hash(reference), Hash(openCl));
        var eval = (JsonElement e) => e.GetProperty("eval_loss").GetDouble();
        Assert.Equal(eval(JsonDocument.Parse(reference.LastLine).RootElement), eval(JsonDocument.Parse(openCl.LastLine).RootElement));
    }

    [Fact]
    public void Backend_opencl_without_a_runtime_exits_1_saying_so()
    {
        var result = SampleProcess.Run("train", [.. Small, "--backend", "opencl", "--out", Path.Combine(_folder, "none")], NoDriver());
        Assert.True(result.ExitCode == 1, $"exit {result.ExitCode}; stderr: {result.Error}");
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith("error: opencl: no OpenCL", result.Error.Trim());
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public void Auto_without_an_opencl_gpu_falls_back_and_says_so()
    {
        var result = SampleProcess.Run("train", [.. Small, "--backend", "auto", "--out", Path.Combine(_folder, "auto")], NoDriver());
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Matches("auto: simd on .*opencl: no OpenCL", result.Error);
        Assert.Equal("simd", JsonDocument.Parse(result.LastLine).RootElement.GetProperty("backend").GetString());
    }

    [SkippableFact]
    public void An_opencl_device_number_that_does_not_exist_is_bad_input()
    {
        Skip.If(OpenClTestDevice.SkipReason is not null, OpenClTestDevice.SkipReason);
        var result = SampleProcess.Run("train", [.. Small, "--backend", "opencl", "--device", "99", "--out", Path.Combine(_folder, "d99")]);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.Error}");
        Assert.Contains("--device: 99 is invalid", result.Error);
    }
}
