using System.Diagnostics;
using System.Text.Json;
using ToyModels.Sweeps;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

[Trait("Category", "Slow")]
public class SweepProgramTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-sweep-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private const string Tiny = """{"name": "tiny", "n": 8, "ratio": [0.25, 0.5], "p": [0.05, 0.2], "batch": 16, "steps": 40, "lr": 0.01, "eval_samples": 64}""";

    private string GridFile(string json, string name = "grid.json")
    {
        File.WriteAllText(PathOf(name), json);
        return PathOf(name);
    }

    private static SampleProcess.Result Sweep(IDictionary<string, string>? environment, params string[] args) =>
        SampleProcess.Run("sweep", [.. args, "--backend", "reference", "--quiet"], environment);

    private static SampleProcess.Result Sweep(params string[] args) => Sweep(null, args);

    private static Dictionary<string, string> Hashes(string csv) =>
        ResultsFile.Read(csv).ToDictionary(r => r.RunId, r => r.WeightsSha256);

    [Fact]
    public void Trains_the_grid_writes_rows_metrics_checkpoints_and_the_report_and_skips_on_rerun()
    {
        string grid = GridFile(Tiny), outDir = PathOf("out");
        var first = Sweep("--grid", grid, "--out", outDir);
        Assert.True(first.ExitCode == 0, first.Error);
        var rows = ResultsFile.Read(Path.Combine(outDir, "results.csv"));
        var runs = SweepGrid.Load(grid).Runs;
        Assert.Equal(runs.Select(r => r.Id), rows.Select(r => r.RunId));
        Assert.All(rows, r => Assert.True(double.IsFinite(r.EvalLoss) && r.PackSize == 2 && r.StepsPerSecond > 0));
        Assert.All(runs, r => Assert.True(File.Exists(Path.Combine(outDir, "metrics", r.Id + ".json"))));
        Assert.Equal(4, Directory.GetFiles(Path.Combine(outDir, "checkpoints")).Length); // the report's featured runs
        string report = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("Loss against sparsity p", report);
        Assert.Contains("D* = m / ||W||", report);
        Assert.Contains("W_out W_in: m/n", report);

        var again = Sweep("--grid", grid, "--out", outDir);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("4 already done, 0 to train", again.Error);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(outDir, "results.csv")).Length);
    }

    [Theory]
    [InlineData("{\"n\": 8, \"p\": [0.1, ", "(syntax)")]
    [InlineData("{\"n\": 8, \"m\": 2, \"sparsity\": 0.1}", "sparsity")]
    [InlineData("{\"n\": 8, \"m\": 2, \"p\": [0.1, 2]}", "p[1]")]
    public void Bad_grid_files_exit_2_naming_file_and_field_before_training(string json, string field)
    {
        string grid = GridFile(json, "bad-grid.json"), outDir = PathOf("never");
        var result = Sweep("--grid", grid, "--out", outDir);
        Assert.Equal(2, result.ExitCode);
        string[] lines = result.Error.Trim().Split('\n');
        Assert.Single(lines);
        Assert.Contains("bad-grid.json", lines[0]);
        Assert.Contains($": {field}: ", lines[0]);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void A_folder_of_another_grid_is_refused_unless_forced()
    {
        string outDir = PathOf("out");
        Assert.Equal(0, Sweep("--grid", GridFile(Tiny), "--out", outDir).ExitCode);
        string other = GridFile(Tiny.Replace("\"steps\": 40", "\"steps\": 30"), "other.json");
        var refused = Sweep("--grid", other, "--out", outDir);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("another grid", refused.Error);
        Assert.Contains("--force", refused.Error);
        var forced = Sweep("--grid", other, "--out", outDir, "--force");
        Assert.True(forced.ExitCode == 0, forced.Error);
        Assert.Equal(8, ResultsFile.Read(Path.Combine(outDir, "results.csv")).Count); // the old rows are kept
    }

    [Fact]
    public void Shards_from_options_and_slurm_merge_into_the_unsharded_results()
    {
        string grid = GridFile(Tiny);
        Assert.Equal(0, Sweep("--grid", grid, "--out", PathOf("whole")).ExitCode);
        string sharded = PathOf("sharded");
        var zero = Sweep("--grid", grid, "--out", sharded, "--shard", "0/2");
        Assert.True(zero.ExitCode == 0, zero.Error);
        var one = Sweep(new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "2" }, "--grid", grid, "--out", sharded);
        Assert.True(one.ExitCode == 0, one.Error);
        Assert.Equal(2, ResultsFile.Read(Path.Combine(sharded, "results.shard-0-of-2.csv")).Count);
        Assert.Equal(2, ResultsFile.Read(Path.Combine(sharded, "results.shard-1-of-2.csv")).Count);
        Assert.False(File.Exists(Path.Combine(sharded, "report.html")));

        var merged = SampleProcess.Run("sweep", ["--merge", "--out", sharded]);
        Assert.True(merged.ExitCode == 0, merged.Error);
        Assert.Contains("merged 4 of 4 runs", merged.Out);
        Assert.Equal(Hashes(Path.Combine(PathOf("whole"), "results.csv")), Hashes(Path.Combine(sharded, "results.csv")));
        Assert.True(File.Exists(Path.Combine(sharded, "report.html")));

        var badShard = Sweep("--grid", grid, "--out", sharded, "--shard", "2/2");
        Assert.Equal(2, badShard.ExitCode);
        Assert.Contains("--shard", badShard.Error);
        var noCount = Sweep(new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "0" }, "--grid", grid, "--out", sharded);
        Assert.Equal(2, noCount.ExitCode);
        Assert.Contains("--shard-count", noCount.Error);
    }

    [Fact]
    public void Kill_9_loses_at_most_the_runs_in_flight_and_the_rerun_completes_without_duplicates()
    {
        // Four shapes, so four packs run one after another; kill the process once the first row is on disk.
        string grid = GridFile("""{"n": 16, "m": [2, 3, 4, 5], "p": [0.05, 0.1], "batch": 32, "steps": 300, "eval_samples": 64}""");
        string straight = PathOf("straight"), killed = PathOf("killed");
        Assert.Equal(0, Sweep("--grid", grid, "--out", straight).ExitCode);

        string results = Path.Combine(killed, "results.csv");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "sweep.dll"), "--grid", grid, "--out", killed, "--backend", "reference", "--quiet" })
            start.ArgumentList.Add(a);
        using (var process = Process.Start(start)!)
        {
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && clock.Elapsed.TotalSeconds < 120 && (!File.Exists(results) || File.ReadAllLines(results).Length < 2))
                Thread.Sleep(10);
            if (!process.HasExited) process.Kill(); // SIGKILL: no cleanup runs
            process.WaitForExit();
        }
        int before = ResultsFile.Read(results).Count;
        File.AppendAllText(results, "0123456789abcdef,16,2,0.125"); // and a torn row, as a kill during a write would leave

        var resumed = Sweep("--grid", grid, "--out", killed);
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("torn last line", resumed.Error);
        Assert.Contains($"{before} already done", resumed.Error);
        Assert.Equal(Hashes(Path.Combine(straight, "results.csv")), Hashes(results));
        Assert.Equal(9, File.ReadAllLines(results).Length);
    }

    [Fact]
    public void A_packed_run_has_the_hash_samples_train_gives_it_alone()
    {
        string grid = GridFile(Tiny), outDir = PathOf("out");
        Assert.Equal(0, Sweep("--grid", grid, "--out", outDir).ExitCode);
        var row = ResultsFile.Read(Path.Combine(outDir, "results.csv"))[1];
        var train = SampleProcess.Run("train", ["--n", "8", "--m", row.M.ToString(), "--p", row.P.ToString("R"), "--batch", "16", "--steps", "40",
            "--lr", "0.01", "--eval-samples", "64", "--backend", "reference", "--out", PathOf("train"), "--json", "--quiet"]);
        Assert.True(train.ExitCode == 0, train.Error);
        using var json = JsonDocument.Parse(train.LastLine);
        Assert.Equal(row.WeightsSha256, json.RootElement.GetProperty("weights_sha256").GetString());
        Assert.Equal(row.EvalLoss, json.RootElement.GetProperty("eval_loss").GetDouble(), 1e-7);
    }

    /// <summary>Issue: Infinity crashed the metrics serializer, results.csv kept only its header, and a re-run crashed the same way.</summary>
    [Fact]
    public void A_diverged_run_gets_its_row_its_pack_mates_finish_and_a_rerun_completes()
    {
        string grid = GridFile("""{"n":16,"m":4,"p":[0.05,0.1],"lr":[0.01,200],"optimizer":{"kind":"sgd"},"steps":200,"batch":16,"eval_samples":64}""");
        string outDir = PathOf("diverging");
        var first = Sweep("--grid", grid, "--out", outDir);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("2 diverged", first.Error);
        var rows = ResultsFile.Read(Path.Combine(outDir, "results.csv"));
        Assert.Equal(4, rows.Count);
        foreach (var row in rows)
        {
            bool diverged = row.LearningRate == 200;
            Assert.Equal(diverged, row.DivergedStep >= 0);
            Assert.Equal(diverged, double.IsNaN(row.EvalLoss));
            Assert.Equal(diverged, double.IsNaN(row.TrainLoss));
            Assert.Equal(diverged, row.FeaturesRepresented is null);
            Assert.Equal(diverged, !File.Exists(Path.Combine(outDir, "metrics", row.RunId + ".json")));
            Assert.True(double.IsFinite(row.ZeroLoss));
        }
        Assert.True(File.Exists(Path.Combine(outDir, "report.html")));

        var again = Sweep("--grid", grid, "--out", outDir);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Contains("4 already done, 0 to train", again.Error);
    }

    /// <summary>Issue: a corrupt or missing metrics/RUN.json crashed the report (JsonReaderException, KeyNotFoundException).</summary>
    [Fact]
    public void A_missing_or_corrupt_metrics_file_is_recomputed_from_the_checkpoint_or_the_run_trains_again()
    {
        // Three sparsities: the middle one's runs are not featured, so they keep no checkpoint. (Non-uniform importance
        // spares the report its theory curves, which take most of a tiny sweep's time.)
        string grid = GridFile(Tiny.Replace("\"p\": [0.05, 0.2]", "\"p\": [0.05, 0.1, 0.2], \"importance\": \"power:1\"")), outDir = PathOf("out");
        Assert.Equal(0, Sweep("--grid", grid, "--out", outDir).ExitCode);
        var runs = SweepGrid.Load(grid).Runs;
        var featured = runs.First(r => File.Exists(Path.Combine(outDir, "checkpoints", r.Id + ".safetensors")));
        var plain = runs.First(r => !File.Exists(Path.Combine(outDir, "checkpoints", r.Id + ".safetensors")));
        string Metrics(SweepRun run) => Path.Combine(outDir, "metrics", run.Id + ".json");
        string featuredMetrics = File.ReadAllText(Metrics(featured)), plainMetrics = File.ReadAllText(Metrics(plain));

        File.WriteAllText(Metrics(featured), "{\"matrix\": \"W_out W_in\", \"norm\": [0.5,");
        var merged = SampleProcess.Run("sweep", ["--merge", "--out", outDir]);
        Assert.True(merged.ExitCode == 0, merged.Error);
        Assert.Contains($"metrics/{featured.Id}.json was unreadable", merged.Error);
        Assert.Contains("recomputed it from", merged.Error);
        Assert.Equal(featuredMetrics, File.ReadAllText(Metrics(featured)));

        File.WriteAllText(Metrics(featured), "[]");
        File.Delete(Metrics(plain));
        var rerun = Sweep("--grid", grid, "--out", outDir);
        Assert.True(rerun.ExitCode == 0, rerun.Error);
        Assert.Contains("recomputed it from", rerun.Error);
        Assert.Contains($"metrics/{plain.Id}.json was missing", rerun.Error);
        Assert.Contains($"run {plain.Id} trains again", rerun.Error);
        Assert.Contains("5 already done, 1 to train", rerun.Error);
        Assert.Equal(featuredMetrics, File.ReadAllText(Metrics(featured)));
        Assert.Equal(plainMetrics, File.ReadAllText(Metrics(plain)));
        Assert.Equal(7, File.ReadAllLines(Path.Combine(outDir, "results.csv")).Length);
    }

    /// <summary>Issue: a grid of 10^10 runs made --plan run for minutes at 2 GB.</summary>
    [Fact]
    public void A_grid_over_the_run_limit_is_refused_at_once_with_its_run_count()
    {
        string grid = GridFile("""{"n": 16, "m": 4, "p": {"from": 0.01, "to": 0.5, "count": 100000}, "lr": {"from": 0.001, "to": 0.1, "count": 100000}}""",
            "huge.json");
        var clock = Stopwatch.StartNew();
        var result = Sweep("--grid", grid, "--plan");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: " + grid + ": (grid): 10000000000 runs, more than the limit of 100000; split the grid, or raise the limit (--max-runs)",
            result.Error.Trim());
        Assert.True(clock.Elapsed.TotalSeconds < 60, $"took {clock.Elapsed.TotalSeconds:F0} s");
        var raised = Sweep("--plan", "--max-runs", "12");
        Assert.True(raised.ExitCode == 0, raised.Error);
        Assert.Contains("12 runs", raised.Out);
    }

    [Fact]
    public void Repeated_options_and_an_empty_out_exit_2_naming_the_option()
    {
        var repeated = Sweep("--plan", "--quiet");
        Assert.Equal(2, repeated.ExitCode);
        Assert.Equal("error: --quiet: given more than once; each option is accepted at most once", repeated.Error.Trim());
        var empty = Sweep("--grid", GridFile(Tiny), "--out", "");
        Assert.Equal(2, empty.ExitCode);
        Assert.Equal("error: --out: '' is invalid; accepted: a path (this one is empty)", empty.Error.Trim());
    }

    [Fact]
    public void Plan_and_help_and_bad_options()
    {
        var plan = Sweep("--plan");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("12 runs in 3 pack(s)", plan.Out);
        Assert.Contains("calibrated 3 shape(s)", plan.Out);
        Assert.Equal(3, plan.Out.Split('\n').Count(l => l.Contains("  pack ") && l.Contains("; estimated ")));
        Assert.Contains("shard 0/1: estimated ", plan.Out);
        var shards = Sweep("--plan", "--shard", "1/3");
        Assert.Equal(0, shards.ExitCode);
        Assert.Contains("all 3 shards: the slowest", shards.Out);
        var help = SampleProcess.Run("sweep", ["--help"]);
        foreach (string option in new[] { "--grid", "--out", "--shard", "--merge", "--force", "--pack", "--checkpoints", "--backend" })
            Assert.Contains(option + " ", help.Out);
        var bad = Sweep("--pack", "0");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--pack", bad.Error);
    }
}
