using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;
using ToyModels.Training;

namespace ToyModels.Sweeps;

/// <summary>Progress inside one pack.</summary>
public sealed record PackProgress(Pack Pack, long Step, double MeanLoss, double StepsPerSecond);

/// <summary>
/// A finished run: its row, its metrics and its state as a one-instance checkpoint (with the metrics in its metadata).
/// A diverged run's row has its losses and metrics missing and its diverged step; its metrics and checkpoint are not kept.
/// </summary>
public sealed record RunOutcome(SweepRun Run, SweepResult Result, SuperpositionMetrics Metrics, Checkpoint Checkpoint);

/// <summary>
/// Trains a pack: its runs as the instances of one config on one backend, divergence recorded per instance
/// without stopping the others, then per instance the evaluation loss, the baselines, the Persian-rug theory
/// (uniform importance), the superposition metrics and the weights hash. The engine gives each instance the
/// bits it would get trained alone, so a run's result does not depend on what it was packed with.
/// </summary>
public sealed class SweepRunner(BackendKind kind, BackendOptions? options = null, Action<string>? notice = null)
{
    /// <summary>What the last pack trained on (the backend's description), once a pack has started.</summary>
    public string? BackendDescription { get; private set; }
    public string? BackendName { get; private set; }

    /// <summary>The finished runs, or null when cancelled (the pack in flight is lost, nothing is half-written).</summary>
    public IReadOnlyList<RunOutcome>? Train(Pack pack, IProgress<PackProgress>? progress = null, CancellationToken cancellation = default)
    {
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
        if (result.Cancelled) return null;

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
