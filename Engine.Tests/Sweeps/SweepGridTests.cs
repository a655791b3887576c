using ToyModels.Model;
using ToyModels.Sweeps;

namespace ToyModels.Tests.Sweeps;

public class SweepGridTests
{
    [Fact]
    public void The_default_grid_expands_with_p_fastest_and_unique_ids()
    {
        var grid = SweepGrid.Default;
        Assert.Equal(12, grid.Runs.Count);
        Assert.Equal([0.01, 0.03, 0.1, 0.3], grid.Runs.Take(4).Select(r => r.Instance.P));
        Assert.Equal([4, 8, 16], grid.Runs.Select(r => r.M).Distinct());
        Assert.Equal(12, grid.Runs.Select(r => r.Id).Distinct().Count());
        Assert.All(grid.Runs, r => Assert.Equal(16, r.Id.Length));
        Assert.Equal(grid.Sha256, SweepGrid.Default.Sha256);
    }

    [Fact]
    public void Ranges_include_both_ends_and_defaults_follow_samples_train()
    {
        var grid = SweepGrid.Parse("""{"n": 64, "ratio": {"from": 0.25, "to": 1, "count": 4}, "p": {"from": 0.001, "to": 0.1, "count": 3, "scale": "log"}}""", "g.json");
        Assert.Equal([16, 32, 48, 64], grid.Runs.Select(r => r.M).Distinct());
        Assert.Equal(0.001, grid.Runs[0].Instance.P);
        Assert.Equal(0.01, grid.Runs[1].Instance.P, 1e-15);
        Assert.Equal(0.1, grid.Runs[2].Instance.P);
        var run = grid.Runs[0];
        Assert.Equal(3e-3 / 8, run.Instance.LearningRate);
        Assert.Equal(2000, run.Steps);
        Assert.Equal(1e-7, run.Config.Optimizer.Eps);
        Assert.True(grid.ByRatio);
    }

    [Fact]
    public void A_run_is_known_by_its_config_not_its_position()
    {
        var small = SweepGrid.Parse("""{"n": 16, "m": 4, "p": [0.1], "steps": 10}""", "a");
        var large = SweepGrid.Parse("""{"n": 16, "m": [2, 4], "p": [0.05, 0.1], "steps": 10}""", "b");
        Assert.Contains(small.Runs[0].Id, large.Runs.Select(r => r.Id));
        var longer = SweepGrid.Parse("""{"n": 16, "m": 4, "p": [0.1], "steps": 11}""", "c");
        Assert.NotEqual(small.Runs[0].Id, longer.Runs[0].Id);
        Assert.NotEqual(small.Sha256, large.Sha256);
    }

    [Theory]
    [InlineData("{\"n\": 16,", "(syntax)", "not valid JSON")]
    [InlineData("[1, 2]", "(root)", "JSON object")]
    [InlineData("{\"n\": 16, \"sparsity\": 0.1}", "sparsity", "unknown field")]
    [InlineData("{\"p\": [0.1, 1.5]}", "p[1]", "1.5 is invalid; accepted: a number in [0, 1]")]
    [InlineData("{\"p\": []}", "p", "empty list")]
    [InlineData("{\"p\": [0.1, 0.1]}", "p", "appears twice")]
    [InlineData("{\"n\": 0}", "n", "an integer in [1,")]
    [InlineData("{\"n\": 16.5}", "n", "16.5 is invalid")]
    [InlineData("{\"m\": 4, \"ratio\": 0.5}", "m", "either m or ratio")]
    [InlineData("{\"n\": 8, \"ratio\": [0.25, 0.26]}", "ratio", "round to the same m")]
    [InlineData("{\"ratio\": {\"from\": 0.1, \"to\": 0.5}}", "ratio.count", "missing")]
    [InlineData("{\"p\": {\"from\": 0, \"to\": 0.5, \"count\": 3, \"scale\": \"log\"}}", "p.scale", "log needs")]
    [InlineData("{\"p\": {\"from\": 0.1, \"to\": 0.5, \"count\": 3, \"step\": 1}}", "p.step", "unknown field of a range")]
    [InlineData("{\"importance\": [\"uniform\", \"zipf:2\"]}", "importance[1]", "'zipf:2' is invalid")]
    [InlineData("{\"tied\": \"yes\"}", "tied", "true or false")]
    [InlineData("{\"lr\": -1}", "lr", "a finite number > 0")]
    [InlineData("{\"seed\": -1}", "seed", "an integer in [0,")]
    [InlineData("{\"batch\": [16, 32]}", "batch", "one value")]
    [InlineData("{\"init\": \"he\"}", "init", "uniform or xavier")]
    [InlineData("{\"optimizer\": {\"kind\": \"rmsprop\"}}", "optimizer.kind", "\"adam\"")]
    [InlineData("{\"optimizer\": {\"eps\": 0}}", "optimizer.eps", "a finite number > 0")]
    [InlineData("{\"optimizer\": {\"lr\": 0.1}}", "optimizer.lr", "unknown field")]
    [InlineData("{\"n\": 1073741824, \"m\": 1073741824}", "n, m, batch, instances", "invalid for n 1073741824")]
    [InlineData("{\"n\": 8, \"p\": 0.1, \"n\": 16}", "n", "given twice")]
    [InlineData("{\"optimizer\": {\"eps\": 1e-8, \"eps\": 1e-7}}", "optimizer.eps", "given twice")]
    [InlineData("{\"n\": 8, \"m\": 2, \"p\": {\"from\": 0.01, \"to\": 0.5, \"count\": 400}, \"seed\": [0, 1, 2]}", "(grid)",
        "1200 runs, more than the limit of 1000")]
    public void Bad_grids_name_the_file_the_field_and_the_reason(string json, string field, string reason)
    {
        var error = Assert.Throws<GridException>(() => SweepGrid.Parse(json, "grids/bad.json", maxRuns: 1000));
        Assert.Equal("grids/bad.json", error.File);
        Assert.Equal(field, error.Field);
        Assert.Contains(reason, error.Reason);
        Assert.StartsWith($"grids/bad.json: {field}: ", error.Message);
    }

    [Fact]
    public void A_grid_of_exactly_the_run_limit_expands()
    {
        const string json = """{"n": 8, "m": 2, "p": {"from": 0.01, "to": 0.5, "count": 400}, "seed": [0, 1, 2]}""";
        Assert.Equal(1200, SweepGrid.Parse(json, "g", maxRuns: 1200).Runs.Count);
    }

    [Fact]
    public void A_field_name_with_a_line_break_is_shown_escaped_in_a_one_line_message()
    {
        var error = Assert.Throws<GridException>(() => SweepGrid.Parse("{\"n\": 8, \"p\\nq\": 1}", "g.json"));
        Assert.Equal("g.json: p\\nq: unknown field; known fields: name, n, m, ratio, p, importance, tied, bias, lr, steps, seed, batch, init, eval_samples, optimizer",
            error.Message);
    }

    [Fact]
    public void Comments_and_trailing_commas_are_accepted()
    {
        var grid = SweepGrid.Parse("{ // the paper's setting\n \"n\": 16, \"m\": 4, \"p\": [0.1, 0.2,], }", "g");
        Assert.Equal(2, grid.Runs.Count);
        Assert.Equal(Importance.Uniform, grid.Runs[0].Instance.Importance);
    }
}
