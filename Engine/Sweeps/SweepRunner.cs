using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;
using ToyModels.Training;

namespace ToyModels.Sweeps;

/// <summary>Progress inside one pack.</summary>
/// <param name="Pack">The pack training.</param>
/// <param name="Step">Steps completed.</param>
/// <param name="MeanLoss">Batch loss of that step, the mean over the pack's runs.</param>
/// <param name="StepsPerSecond">Speed since the previous report.</param>
public sealed record PackProgress(Pack Pack, long Step, double MeanLoss, double StepsPerSecond);

/// <summary>
/// A finished run: its row, its metrics and its state as a one-instance checkpoint (with the metrics in its metadata).
/// A diverged run's row has its losses and metrics missing and its diverged step; its metrics and checkpoint are not kept.
/// </summary>
/// <param name="Run">The grid's run.</param>
/// <param name="Result">Its row of results.csv.</param>
/// <param name="Metrics">Its superposition metrics.</param>
/// <param name="Checkpoint">Its final state as a one-instance checkpoint.</param>
public sealed record RunOutcome(SweepRun Run, SweepResult Result, SuperpositionMetrics Metrics, Checkpoint Checkpoint);

/// <summary>
/// Trains a pack: its runs as the instances of one config on one backend, divergence recorded per instance
/// without stopping the others, then per instance the evaluation loss, the baselines, the Persian-rug theory
/// (uniform importance), the superposition metrics and the weights hash. The engine gives each instance the
/// bits it would get trained alone, so a run's result does not depend on what it was packed with.
/// </summary>
/// <remarks>
/// Cancellation follows the engine's convention (<see cref="Trainer"/>): a cancelled token makes <see cref="Train"/> throw an
/// <see cref="OperationCanceledException"/> carrying it, before the pack starts or between its steps. The pack in flight is
/// then lost (its runs are returned only whole); the outcomes of earlier packs are the caller's, so a sweep that writes each
/// pack's rows as they come loses at most one pack.
/// </remarks>
/// <param name="kind">The backend every pack trains on.</param>
/// <param name="options">Its options (threads, device).</param>
/// <param name="notice">Receives the backend factory's notices (what auto chose), for the first pack.</param>
public sealed class SweepRunner(BackendKind kind, BackendOptions? options = null, Action<string>? notice = null)
{
    /// <summary>What the last pack trained on (the backend's description), once a pack has started.</summary>
    public string? BackendDescription { get; private set; }
    /// <summary>The last pack's backend name (<see cref="IBackend.Name"/>), once a pack has started.</summary>
    public string? BackendName { get; private set; }

    /// <summary>Trains <paramref name="pack"/> and returns its finished runs, in the pack's order.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled: nothing of this pack is returned.</exception>
    public IReadOnlyList<RunOutcome> Train(Pack pack, IProgress<PackProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pack);
        cancellation.ThrowIfCancellationRequested();
        var config = pack.Config;
        using var backend = BackendFactory.Create(kind, config, Options(pack), BackendDescription is null ? notice : null);
        BackendDescription = backend.Description;
        BackendName = backend.Name;
        var trainer = new Trainer(backend, new TrainerOptions
        {
            EvalSamples = pack.Runs[0].EvalSamples,
            OnDivergence = DivergencePolicy.Continue,
            LogEvery = Math.Max(1, pack.Steps / 100),
        });
        var result = trainer.Run(pack.Steps,
            progress is null ? null : new SyncProgress<TrainingProgress>(p => progress.Report(new PackProgress(pack, p.Step, p.MeanLoss, p.StepsPerSecond))), cancellation);

        var layout = config.Layout;
        var outcomes = new List<RunOutcome>();
        for (int s = 0; s < pack.Runs.Count; s++)
        {
            var run = pack.Runs[s];
            var single = run.Config;
            // Instance s's block of each buffer, read straight off the backend.
            var parameters = new float[single.Layout.Total];
            backend.ReadParameters(s * layout.PerInstance, parameters);
            var state = new float[single.OptimizerStateLength()];
            for (int slot = 0; slot < config.Optimizer.StateSlots; slot++)
                backend.ReadOptimizerState(slot * layout.Total + s * layout.PerInstance, state.AsSpan((int)(slot * single.Layout.Total), (int)single.Layout.Total));
            var metrics = SuperpositionMetrics.OfInstance(single, parameters);
            var instance = run.Instance;
            var row = SweepResult.For(run, WeightsHash.Of(parameters)) with
            {
                TrainLoss = result.FinalLoss.Length > s ? result.FinalLoss[s] : double.NaN,
                EvalLoss = result.EvalLoss is { } eval ? eval[s] : double.NaN,
                ZeroLoss = Baselines.Zero(run.N, instance.P, instance.Importance),
                LinearLoss = Baselines.Linear(run.N, run.M, instance.P, instance.Importance) ?? double.NaN,
                TheoryLoss = instance.Importance.Kind == ImportanceKind.Uniform ? PersianRugTheory.Minimize(run.N, run.M, instance.P).Loss : double.NaN,
                DStar = metrics.DStar,
                FeaturesRepresented = metrics.FeaturesRepresented,
                MeanDimensionality = metrics.MeanDimensionality,
                MeanInterference = metrics.MeanInterference,
                MeanBias = config.Bias ? metrics.MeanBias : double.NaN,
                DivergedStep = result.FirstNonFiniteStep[s],
                PackSize = pack.Runs.Count,
                StepsPerSecond = result.StepsPerSecond,
            };
            // A diverged model's parameters are not finite: what it reached is missing (its loss would only be the
            // zero output's, as ReLU selects 0 for NaN); the baselines and the theory still describe the run.
            if (row.DivergedStep >= 0)
                row = row with
                {
                    TrainLoss = double.NaN, EvalLoss = double.NaN, DStar = double.NaN, FeaturesRepresented = null,
                    MeanDimensionality = double.NaN, MeanInterference = double.NaN, MeanBias = double.NaN,
                };
            var metadata = new Dictionary<string, string> { ["superposition_metrics"] = "[" + metrics.ToJson() + "]", ["sweep_run_id"] = run.Id };
            outcomes.Add(new RunOutcome(run, row, metrics, new Checkpoint(single, result.Steps, parameters, state, metadata)));
        }
        return outcomes;
    }

    /// <summary>The backend options of a pack, with what the runner holds beside the backend: the trainer's buffers and every run's result.</summary>
    private BackendOptions Options(Pack pack) => (options ?? new BackendOptions()) with
    {
        HostParts =
        [
            .. Trainer.MemoryParts(pack.Config, pack.Runs[0].EvalSamples),
            new("run results", 4 * pack.Config.Layout.Total * (1 + pack.Config.Optimizer.StateSlots)),
        ],
        EvaluationSamples = pack.Runs[0].EvalSamples,
    };

    /// <summary>The peak memory of training <paramref name="pack"/> (to refuse a grid at once, before any pack trains).</summary>
    public MemoryEstimate EstimateMemory(Pack pack) => BackendFactory.EstimateMemory(kind, pack.Config, Options(pack));
}
