using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

/// <summary>Samples/Embed checks its own results (checkpoint round trip, restored evaluation, superposition) and exits 0 only when they hold.</summary>
public class EmbedProgramTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public void Embed_trains_checkpoints_measures_and_its_checks_hold()
    {
        var result = SampleProcess.Run("embed", [], timeoutSeconds: 120);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Out}\n{result.Error}");
        Assert.Contains("step 2000/2000", result.Out);
        Assert.Equal(5, result.Out.Split('\n').Count(line => line.StartsWith("ok  ", StringComparison.Ordinal)));
        Assert.DoesNotContain("FAIL", result.Out);
    }
}
