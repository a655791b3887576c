using System.Text.Json;
using System.Text.RegularExpressions;
using ToyModels.Sweeps;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

/// <summary>
/// The sweep as the README runs it on schedulers: the Slurm section quotes exactly what
/// scripts/slurm/test-cluster.sh submits (that script runs a real one-node cluster in CI), and the Kubernetes
/// indexed Job's command, run once per index with JOB_COMPLETION_INDEX as Kubernetes would, merges into the
/// hashes of an unsharded run.
/// </summary>
public partial class SweepOnSchedulersTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-schedulers-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A repository file the test project copies next to the tests (see Engine.Tests.csproj).</summary>
    private static string Repository(string path) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "repository", path));

    [Fact]
    public void The_readme_quotes_the_sbatch_file_the_manifests_and_the_submission_the_cluster_test_runs()
    {
        string readme = Repository("README.md");
        foreach (string file in new[] { "scripts/slurm/sweep.sbatch", "scripts/kubernetes/sweep-job.yaml", "scripts/kubernetes/merge-job.yaml" })
            Assert.True(readme.Contains(Repository(file), StringComparison.Ordinal), $"README.md does not quote {file} as it is");

        string script = Repository("scripts/slurm/test-cluster.sh");
        var submit = SubmitFunction().Match(script);
        Assert.True(submit.Success, "scripts/slurm/test-cluster.sh has no submit() { ... } function");
        string body = submit.Groups["body"].Value;
        Assert.Contains("sbatch --parsable --array=", body);
        Assert.Contains("scripts/slurm/sweep.sbatch", body);
        Assert.Contains("--dependency=afterok:", body);
        Assert.True(readme.Contains(body, StringComparison.Ordinal), $"README.md does not show the submission test-cluster.sh runs:\n{body}");
    }

    [GeneratedRegex(@"\nsubmit\(\) \{\n(?<body>(?:[^\n]*\n)+?)\}\n")]
    private static partial Regex SubmitFunction();

    [Fact]
    [Trait("Category", "Slow")]
    public async Task The_kubernetes_indexed_job_run_index_by_index_then_merged_gives_the_unsharded_hashes()
    {
        string job = Repository("scripts/kubernetes/sweep-job.yaml"), mergeJob = Repository("scripts/kubernetes/merge-job.yaml");
        Assert.Contains("completionMode: Indexed", job);
        int completions = int.Parse(Field(job, "completions"));
        Assert.Equal(completions, int.Parse(Field(job, "parallelism")));
        Assert.Equal(Field(job, "claimName"), Field(mergeJob, "claimName"));
        var sweep = Command(job);
        var merge = Command(mergeJob);
        Assert.Equal(completions.ToString(), After(sweep, "--shard-count"));
        Assert.Contains("--merge", merge);
        Assert.Equal(After(sweep, "--out"), After(merge, "--out"));

        // Eight runs, one per index; the manifest's own command with this grid and a local folder.
        string grid = Path.Combine(_folder, "grid.json"), outDir = Path.Combine(_folder, "runs"), whole = Path.Combine(_folder, "whole");
        File.WriteAllText(grid, """{"n": 8, "ratio": [0.25, 0.5], "p": [0.05, 0.1, 0.2, 0.3], "batch": 16, "steps": 40, "lr": 0.01, "eval_samples": 64}""");
        Assert.Equal(completions, SweepGrid.Load(grid).Runs.Count);
        string[] Local(IReadOnlyList<string> command) => command.Skip(2)
            .Select((arg, k) => k > 0 && command[k + 1] == "--grid" ? grid : k > 0 && command[k + 1] == "--out" ? outDir : arg).ToArray();

        // All pods at once (parallelism = completions), as the Job starts them.
        var pods = await Task.WhenAll(Enumerable.Range(0, completions).Select(index => Task.Run(() =>
            SampleProcess.Run("sweep", Local(sweep), new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = index.ToString() }))));
        foreach (var (pod, index) in pods.Select((p, k) => (p, k)))
        {
            Assert.True(pod.ExitCode == 0, $"index {index}: {pod.Error}");
            Assert.Single(ResultsFile.Read(Path.Combine(outDir, $"results.shard-{index}-of-{completions}.csv")));
        }
        var merged = SampleProcess.Run("sweep", Local(merge));
        Assert.True(merged.ExitCode == 0, merged.Error);
        Assert.Contains($"merged {completions} of {completions} runs from {completions} file(s)", merged.Out);
        Assert.True(File.Exists(Path.Combine(outDir, "report.html")));

        var unsharded = SampleProcess.Run("sweep", ["--grid", grid, "--out", whole]);
        Assert.True(unsharded.ExitCode == 0, unsharded.Error);
        Assert.Equal(Hashes(Path.Combine(whole, "results.csv")), Hashes(Path.Combine(outDir, "results.csv")));
    }

    /// <summary>
    /// Shards 0 and 2 of --array=0-2 finished, 1 did not; re-submitting the sub-range --array=1-2 makes two shards
    /// of 2, which must take the runs recorded by the 3-shard files as done and train only shard 1's.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void A_sub_range_of_the_array_resubmitted_trains_only_the_runs_missing_from_the_folder()
    {
        string grid = Path.Combine(_folder, "grid.json"), outDir = Path.Combine(_folder, "runs");
        File.WriteAllText(grid, """{"n": 8, "ratio": [0.25, 0.5], "p": [0.05, 0.2], "batch": 16, "steps": 40, "lr": 0.01, "eval_samples": 64}""");
        SampleProcess.Result Task(int id, int min, int max) => SampleProcess.Run("sweep", ["--grid", grid, "--out", outDir, "--quiet"], new Dictionary<string, string>
        {
            ["SLURM_ARRAY_TASK_ID"] = id.ToString(), ["SLURM_ARRAY_TASK_MIN"] = min.ToString(), ["SLURM_ARRAY_TASK_MAX"] = max.ToString(),
            ["SLURM_ARRAY_TASK_STEP"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = (max - min + 1).ToString(),
        });
        foreach (int id in new[] { 0, 2 }) Assert.Equal(0, Task(id, 0, 2).ExitCode);

        var first = Task(1, 1, 2);  // shard 0/2: runs 0 and 2, recorded by shards 0/3 and 2/3
        var second = Task(2, 1, 2); // shard 1/2: run 3 recorded by shard 0/3, run 1 by nobody
        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first.Error + second.Error);
        Assert.Contains("shard 0/2: 2 runs; 2 already done, 0 to train", first.Error);
        Assert.Contains("shard 1/2: 2 runs; 1 already done, 1 to train", second.Error);
        Assert.Empty(ResultsFile.Read(Path.Combine(outDir, "results.shard-0-of-2.csv")));
        Assert.Single(ResultsFile.Read(Path.Combine(outDir, "results.shard-1-of-2.csv")));
        Assert.Equal(4, new SweepFolder(outDir).GridRows(SweepGrid.Load(grid)).Count);
    }

    private static Dictionary<string, string> Hashes(string csv) => ResultsFile.Read(csv).ToDictionary(r => r.RunId, r => r.WeightsSha256);

    /// <summary>The value of the first "name: value" (or "name: value}" in a flow mapping) in a manifest.</summary>
    private static string Field(string yaml, string name)
    {
        var match = Regex.Match(yaml, $@"\b{name}: ([^,}}\s]+)");
        Assert.True(match.Success, $"the manifest has no {name}");
        return match.Groups[1].Value;
    }

    /// <summary>The container's command, written as a flow sequence of double-quoted strings (JSON).</summary>
    private static IReadOnlyList<string> Command(string yaml)
    {
        var command = JsonSerializer.Deserialize<string[]>(Regex.Match(yaml, @"command: (\[.*\])").Groups[1].Value)!;
        Assert.Equal("dotnet", command[0]);
        Assert.EndsWith("/sweep.dll", command[1]);
        return command;
    }

    private static string After(IReadOnlyList<string> command, string option)
    {
        int at = command.ToList().IndexOf(option);
        Assert.True(at >= 0 && at + 1 < command.Count, $"the command has no {option} VALUE");
        return command[at + 1];
    }
}
