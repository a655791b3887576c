using System.Xml.Linq;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

[Trait("Category", "Slow")]
public class SuperpositionProgramTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-superposition-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Draws_one_panel_per_sparsity()
    {
        string picture = Path.Combine(_folder, "s.svg");
        var result = SampleProcess.Run("superposition", ["--sparsities", "3", "--steps", "60", "--batch", "64", "--backend", "reference", "--out", picture, "--quiet"]);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("features with norm > 0.5", result.Out);
        Assert.Contains("p = 0.22", File.ReadAllText(picture)); // 20^(-1/2)
        var svg = XDocument.Parse(File.ReadAllText(picture));
        Assert.Equal(3 * 5, svg.Descendants().Count(e => e.Name.LocalName == "polygon")); // five arrow heads per panel
        var bad = SampleProcess.Run("superposition", ["--sparsities", "1"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--sparsities", bad.Error);
    }

    /// <summary>Issue: --out '' failed with a stack trace after the whole training.</summary>
    [Fact]
    public void An_empty_out_or_a_repeated_flag_exits_2_before_training()
    {
        var empty = SampleProcess.Run("superposition", ["--steps", "100000", "--out", "", "--backend", "reference", "--quiet"]);
        Assert.Equal(2, empty.ExitCode);
        Assert.Equal("error: --out: '' is invalid; accepted: a path (this one is empty)", empty.Error.Trim());
        var repeated = SampleProcess.Run("superposition", ["--quiet", "--quiet"]);
        Assert.Equal(2, repeated.ExitCode);
        Assert.Equal("error: --quiet: given more than once; each option is accepted at most once", repeated.Error.Trim());
    }
}
