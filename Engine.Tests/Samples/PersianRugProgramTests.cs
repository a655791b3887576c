using System.Text.Json;
using System.Xml.Linq;
using ToyModels.IO;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

[Trait("Category", "Slow")]
public class PersianRugProgramTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-rug-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Prints_the_table_and_writes_the_picture_and_checkpoints()
    {
        string outDir = Path.Combine(_folder, "rug");
        var result = SampleProcess.Run("persianrug", ["--n", "32", "--m", "8", "--p", "0.1", "--steps", "30", "--batch", "64", "--fit-steps", "40",
            "--eval-samples", "512", "--backend", "reference", "--out", outDir, "--json", "--quiet"]);
        Assert.True(result.ExitCode == 0, result.Error);
        foreach (string row in new[] { "trained", "Persian rug", "theory", "best linear", "zero output", "unit diagonal" })
            Assert.Contains(row, result.Out);
        using var json = JsonDocument.Parse(result.LastLine);
        var root = json.RootElement;
        Assert.Equal(0.1 / 3, root.GetProperty("zero_loss").GetDouble(), 1e-15);
        Assert.Equal(23 * 0.1 / 96, root.GetProperty("linear_loss").GetDouble(), 1e-15);
        Assert.True(root.GetProperty("rug_loss").GetDouble() < root.GetProperty("zero_loss").GetDouble());

        var svg = XDocument.Parse(File.ReadAllText(Path.Combine(outDir, "persian-rug.svg")));
        Assert.Equal(2, svg.Descendants().Count(e => e.Name.LocalName == "image"));
        Assert.Equal(32, new PngReader(File.ReadAllBytes(Path.Combine(outDir, "rug.png"))).Width);
        var rug = Checkpoint.Load(Path.Combine(outDir, "rug.safetensors"));
        Assert.Contains("persian_rug", rug.Metadata.Keys);
        Assert.Contains("superposition_metrics", Checkpoint.Load(Path.Combine(outDir, "trained.safetensors")).Metadata.Keys);
    }

    [Fact]
    public void Uses_a_trained_checkpoint_and_rejects_bad_input()
    {
        string trained = Path.Combine(_folder, "train");
        var train = SampleProcess.Run("train", ["--n", "16", "--m", "4", "--p", "0.1", "--batch", "32", "--steps", "20", "--eval-samples", "0",
            "--backend", "reference", "--out", trained, "--quiet"]);
        Assert.True(train.ExitCode == 0, train.Error);
        string model = Path.Combine(trained, "model.safetensors");
        var result = SampleProcess.Run("persianrug", ["--model", model, "--fit-steps", "5", "--eval-samples", "256", "--backend", "reference",
            "--out", Path.Combine(_folder, "rug"), "--quiet"]);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains($"from {model}", result.Out);

        var contradiction = SampleProcess.Run("persianrug", ["--model", model, "--n", "32"]);
        Assert.Equal(2, contradiction.ExitCode);
        Assert.Contains("--n", contradiction.Error);
        var notPowerOfTwo = SampleProcess.Run("persianrug", ["--n", "24", "--m", "4"]);
        Assert.Equal(2, notPowerOfTwo.ExitCode);
        Assert.Contains("power of two", notPowerOfTwo.Error);
        var tooWide = SampleProcess.Run("persianrug", ["--n", "16", "--m", "17"]);
        Assert.Equal(2, tooWide.ExitCode);
        Assert.Contains("--m", tooWide.Error);
    }

    /// <summary>Issue: a diverging rug fit crashed the metrics serializer with Infinity (a stack trace, exit 1).</summary>
    [Fact]
    public void A_diverging_rug_fit_exits_3_with_one_line_and_keeps_the_trained_model()
    {
        string outDir = Path.Combine(_folder, "rug");
        var result = SampleProcess.Run("persianrug", ["--n", "16", "--m", "4", "--steps", "20", "--batch", "16", "--fit-steps", "20", "--fit-lr", "1e30",
            "--eval-samples", "64", "--backend", "reference", "--out", outDir, "--quiet"]);
        Assert.True(result.ExitCode == 3, result.Error);
        string line = result.Error.Trim().Split('\n')[^1];
        Assert.StartsWith("diverged: the Persian rug fit diverged at fit step ", line);
        Assert.EndsWith("; a smaller --fit-lr may help", line); // the engine names RugFitOptions.LearningRate, the program its option
        Assert.DoesNotContain("   at ", result.Error);
        Assert.Equal(20, Checkpoint.Load(Path.Combine(outDir, "trained.safetensors")).Step);
    }
}
