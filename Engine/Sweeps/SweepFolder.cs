using System.Text;
using System.Text.Json;
using ToyModels.Analysis;
using ToyModels.IO;

namespace ToyModels.Sweeps;

/// <summary>The output folder holds results of another grid; refused unless forced.</summary>
public sealed class SweepFolderException(string message) : Exception(message);

/// <summary>What a merge found.</summary>
public sealed record MergeSummary(int GridRuns, int Found, IReadOnlyList<string> Files, IReadOnlyList<SweepRun> Missing);

/// <summary>
/// A sweep's output folder:
/// <code>
/// grid.json                          the grid (as given), its SHA-256 over run ids, its source
/// results.csv                        one row per finished run (unsharded runs, and the merge of all shards)
/// results.shard-I-of-N.csv           shard I's rows
/// metrics/RUN_ID.json                per-feature metrics of each run (norms, interference, D_i, bias)
/// checkpoints/RUN_ID.safetensors     each run's final state with --checkpoints; always for the report's featured runs
/// report.html                        the report
/// </code>
/// </summary>
public sealed class SweepFolder(string path)
{
    /// <summary>The folder, as given.</summary>
    public string Path { get; } = path;
    /// <summary>grid.json: the grid this folder's results belong to.</summary>
    public string GridFile => System.IO.Path.Combine(Path, "grid.json");
    /// <summary>report.html.</summary>
    public string ReportFile => System.IO.Path.Combine(Path, "report.html");
    /// <summary>results.csv: an unsharded sweep's rows, or the merge of every shard's.</summary>
    public string MergedResults => System.IO.Path.Combine(Path, "results.csv");

    /// <summary>The results file of shard <paramref name="shard"/> of <paramref name="count"/>; results.csv when there is one shard.</summary>
    public string ResultsFile(int shard, int count) =>
        count == 1 ? MergedResults : System.IO.Path.Combine(Path, $"results.shard-{shard}-of-{count}.csv");

    /// <summary>metrics/RUN_ID.json: the run's per-feature metrics.</summary>
    public string MetricsFile(string runId) => System.IO.Path.Combine(Path, "metrics", runId + ".json");
    /// <summary>checkpoints/RUN_ID.safetensors: the run's final state.</summary>
    public string CheckpointFile(string runId) => System.IO.Path.Combine(Path, "checkpoints", runId + ".safetensors");

    /// <summary>Every results file in the folder: results.csv first, then the shards in name order.</summary>
    internal IReadOnlyList<string> ResultFiles()
    {
        if (!Directory.Exists(Path)) return [];
        var files = new List<string>();
        if (File.Exists(MergedResults)) files.Add(MergedResults);
        files.AddRange(Directory.GetFiles(Path, "results.shard-*-of-*.csv").Order(StringComparer.Ordinal));
        return files;
    }

    /// <summary>
    /// Makes the folder this grid's: refuses (unless <paramref name="force"/>) when it holds another grid's
    /// grid.json or rows of runs outside this grid; then records the grid. With force the old rows stay
    /// (rows name their runs, so runs of this grid already there still count as done).
    /// </summary>
    public void Claim(SweepGrid grid, bool force)
    {
        if (!force)
        {
            if (File.Exists(GridFile))
            {
                var (sha, source, runs) = ReadGridHeader();
                if (sha != grid.Sha256)
                    throw new SweepFolderException($"{Path} holds results of another grid ({source}, {runs} runs); this grid is {grid.Source} " +
                        $"({grid.Runs.Count} runs). Use another folder (SweepFolder.Path), or SweepFolder.Claim(force) to add this grid's runs there (old rows are kept).");
            }
            var ids = grid.Runs.Select(r => r.Id).ToHashSet();
            foreach (string file in ResultFiles())
            {
                var foreign = Sweeps.ResultsFile.Read(file).FirstOrDefault(r => !ids.Contains(r.RunId));
                if (foreign is not null)
                    throw new SweepFolderException($"{file} holds run {foreign.RunId}, which is not in {grid.Source}: the folder has results of another grid. " +
                        "Use another folder (SweepFolder.Path), or SweepFolder.Claim(force) to add this grid's runs there (old rows are kept).");
            }
        }
        if (!File.Exists(GridFile) || ReadGridHeader().Sha != grid.Sha256) WriteGrid(grid);
    }

    private void WriteGrid(SweepGrid grid)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("grid_sha256", grid.Sha256);
            json.WriteString("source", grid.Source);
            json.WriteNumber("runs", grid.Runs.Count);
            json.WritePropertyName("grid");
            using (var document = JsonDocument.Parse(grid.Json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }))
                document.RootElement.WriteTo(json);
            json.WriteEndObject();
        }
        Directory.CreateDirectory(Path);
        AtomicFile.WriteAllText(GridFile, Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
    }

    private (string Sha, string Source, int Runs) ReadGridHeader()
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(GridFile));
            var root = document.RootElement;
            return (root.GetProperty("grid_sha256").GetString()!, root.GetProperty("source").GetString()!, root.GetProperty("runs").GetInt32());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new SweepFolderException($"{GridFile} is not a grid record of this engine ({e.Message}); use another folder (SweepFolder.Path) or SweepFolder.Claim(force)");
        }
    }

    /// <summary>The grid recorded in the folder (for merging shards and reports).</summary>
    public SweepGrid LoadGrid(long maxRuns = SweepGrid.DefaultMaxRuns)
    {
        if (!File.Exists(GridFile)) throw new SweepFolderException($"{Path} has no grid.json: nothing was swept there");
        var (sha, source, _) = ReadGridHeader();
        string json;
        using (var document = JsonDocument.Parse(File.ReadAllText(GridFile)))
        {
            if (!document.RootElement.TryGetProperty("grid", out var stored))
                throw new SweepFolderException($"{GridFile} is not a grid record of this engine (no \"grid\"); use another folder (SweepFolder.Path) or SweepFolder.Claim(force)");
            json = stored.GetRawText();
        }
        var grid = SweepGrid.Parse(json, source, maxRuns);
        if (grid.Sha256 != sha) throw new SweepFolderException($"{GridFile}: the stored grid no longer expands to the recorded runs (engine changed?)");
        return grid;
    }

    /// <summary>A run's metrics file, or null with what is wrong with it (missing, unreadable, or another run's).</summary>
    internal SuperpositionMetrics? ReadMetrics(SweepRun run, out string? problem)
    {
        string file = MetricsFile(run.Id);
        problem = null;
        if (!File.Exists(file)) { problem = "missing"; return null; }
        try
        {
            var metrics = SuperpositionMetrics.FromJson(File.ReadAllText(file), run.M);
            int bias = run.Config.Bias ? run.N : 0;
            if (metrics.N == run.N && metrics.Interference.Length == run.N && metrics.Dimensionality.Length == run.N && metrics.Bias.Length == bias)
                return metrics;
            problem = $"not this run's (it describes {metrics.N} features, the run has {run.N})";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException
                                       or IOException or UnauthorizedAccessException)
        {
            problem = $"unreadable ({e.Message.Split('\n')[0].TrimEnd()})";
        }
        return null;
    }

    /// <summary>
    /// Recomputes a finished run's metrics from its checkpoint and writes its metrics file; null, with the reason,
    /// when the folder holds no checkpoint of that run's final state (the weights hash of its row).
    /// </summary>
    internal SuperpositionMetrics? RecomputeMetrics(SweepRun run, string weightsSha256, out string? problem)
    {
        string file = CheckpointFile(run.Id);
        problem = null;
        if (!File.Exists(file)) { problem = $"there is no {file}"; return null; }
        Checkpoint checkpoint;
        try { checkpoint = Checkpoint.Load(file); }
        catch (CheckpointException e) { problem = e.Message; return null; }
        if (ConfigJson.Write(checkpoint.Config) != ConfigJson.Write(run.Config) || checkpoint.Step != run.Steps || WeightsHash.Of(checkpoint.Parameters) != weightsSha256)
        {
            problem = $"{file} is not the run's final state (config, step or weights differ from its row)";
            return null;
        }
        var metrics = SuperpositionMetrics.OfInstance(run.Config, checkpoint.Parameters);
        AtomicFile.WriteAllText(MetricsFile(run.Id), metrics.ToJson() + "\n");
        return metrics;
    }

    /// <summary>
    /// Checks the metrics file of every finished, non-diverged run among <paramref name="runs"/>: a missing or corrupt
    /// one is recomputed from the run's checkpoint, else the run is returned to be trained again; each with a warning.
    /// (A diverged run has no metrics file: its row says so.)
    /// </summary>
    public IReadOnlySet<string> RepairMetrics(IEnumerable<SweepRun> runs, IReadOnlyDictionary<string, SweepResult> rows, Action<string> warn)
    {
        var retrain = new HashSet<string>();
        foreach (var run in runs)
        {
            if (!rows.TryGetValue(run.Id, out var row) || row.DivergedStep >= 0 || ReadMetrics(run, out string? problem) is not null) continue;
            if (RecomputeMetrics(run, row.WeightsSha256, out string? why) is not null)
                warn($"warning: {MetricsFile(run.Id)} was {problem}; recomputed it from {CheckpointFile(run.Id)}");
            else
            {
                warn($"warning: {MetricsFile(run.Id)} was {problem}, and {why}; run {run.Id} trains again");
                retrain.Add(run.Id);
            }
        }
        return retrain;
    }

    /// <summary>
    /// Combines every results file of the folder into results.csv: this grid's runs in grid order, then rows of
    /// other runs (kept, never dropped). A run found twice must have the same weights hash in both places.
    /// </summary>
    public MergeSummary Merge(SweepGrid grid)
    {
        var files = ResultFiles();
        var rows = new Dictionary<string, (SweepResult Row, string File)>();
        foreach (string file in files)
            foreach (var row in Sweeps.ResultsFile.Read(file))
            {
                if (rows.TryGetValue(row.RunId, out var seen))
                {
                    if (seen.Row.WeightsSha256 != row.WeightsSha256)
                        throw new InvalidDataException($"run {row.RunId} has weights {seen.Row.WeightsSha256[..12]}... in {seen.File} " +
                            $"but {row.WeightsSha256[..12]}... in {file}: the same run gave different bits");
                    continue;
                }
                rows[row.RunId] = (row, file);
            }
        var ordered = grid.Runs.Where(r => rows.ContainsKey(r.Id)).Select(r => rows[r.Id].Row).ToList();
        var gridIds = grid.Runs.Select(r => r.Id).ToHashSet();
        var others = rows.Values.Select(v => v.Row).Where(r => !gridIds.Contains(r.RunId));
        var text = new StringBuilder(SweepResult.Header).Append('\n');
        foreach (var row in ordered.Concat(others)) text.Append(row.ToCsv()).Append('\n');
        // Holding results.csv's lock refuses the merge while an unsharded sweep is writing there.
        using (Sweeps.ResultsFile.Open(MergedResults))
            AtomicFile.WriteAllText(MergedResults, text.ToString());
        return new MergeSummary(grid.Runs.Count, ordered.Count, files, grid.Runs.Where(r => !rows.ContainsKey(r.Id)).ToList());
    }

    /// <summary>Rows of this grid's runs found in the folder's results files, in grid order.</summary>
    public IReadOnlyList<SweepResult> GridRows(SweepGrid grid)
    {
        var rows = new Dictionary<string, SweepResult>();
        foreach (string file in ResultFiles())
            foreach (var row in Sweeps.ResultsFile.Read(file)) rows.TryAdd(row.RunId, row);
        return grid.Runs.Where(r => rows.ContainsKey(r.Id)).Select(r => rows[r.Id]).ToList();
    }
}
