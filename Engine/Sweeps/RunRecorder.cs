using ToyModels.IO;

namespace ToyModels.Sweeps;

/// <summary>
/// Records a sweep's finished runs in its folder in the order that keeps a killed sweep consistent: a run's metrics
/// file and checkpoint first (each written whole, <see cref="AtomicFile"/>), its row of results.csv last, so a row
/// means the run is complete and a re-run trains again only what has no row.
/// </summary>
/// <param name="folder">The sweep's folder (metrics/ and checkpoints/).</param>
/// <param name="results">The results file of this process's shard.</param>
/// <param name="keepCheckpoint">Whether a run's checkpoint is kept (a diverged run has none: its parameters are not finite).</param>
public sealed class RunRecorder(SweepFolder folder, ResultsFile results, Func<SweepRun, bool> keepCheckpoint)
{
    /// <summary>
    /// Records <paramref name="outcome"/>. A run that already has a row (trained again, as a missing metrics file asks) keeps
    /// it; the returned warning then says so when the new weights differ from the row's, and is null otherwise.
    /// </summary>
    public string? Record(RunOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.Result.DivergedStep < 0)
        {
            AtomicFile.WriteAllText(folder.MetricsFile(outcome.Run.Id), outcome.Metrics.ToJson() + "\n");
            if (keepCheckpoint(outcome.Run)) outcome.Checkpoint.Save(folder.CheckpointFile(outcome.Run.Id));
        }
        if (!results.Rows.TryGetValue(outcome.Run.Id, out var earlier))
        {
            results.Append(outcome.Result);
            return null;
        }
        return earlier.WeightsSha256 == outcome.Result.WeightsSha256 ? null
            : $"run {outcome.Run.Id} trained again to weights {outcome.Result.WeightsSha256[..12]}..., " +
              $"but its row in {results.Path} says {earlier.WeightsSha256[..12]}...; the row is kept";
    }
}
