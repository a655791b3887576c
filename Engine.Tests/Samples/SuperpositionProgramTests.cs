using System.Xml.Linq;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

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
}
