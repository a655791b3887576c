using System.Diagnostics;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Numerics;

namespace ToyModels.Training;

/// <summary>
/// Runs optimizer steps on a backend: one whole step per call into the backend, the loss read back
/// only at report steps, evaluation, checkpoints, cancellation and the divergence guard.
/// </summary>
/// <remarks>
/// Step t (0-based) trains on the batch of data-stream step t with the optimizer scalars of step t;
/// after it, <see cref="Step"/> = t + 1. Everything is a pure function of the config and the step,
/// so resuming from a checkpoint continues bit for bit.
/// </remarks>
public sealed class Trainer
{
    private readonly OptimizerScalars _scalars;
    private readonly float[] _rowLoss;
    private readonly float[] _loss;
    private readonly long[] _nonFinite;
    private readonly long[] _backendNonFinite;

    public IBackend Backend { get; }
    public AutoencoderConfig Config => Backend.Config;
    public TrainerOptions Options { get; }
    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; private set; }

    public Trainer(IBackend backend, TrainerOptions? options = null)
    {
        Backend = backend ?? throw new ArgumentNullException(nameof(backend));
        Options = options ?? new TrainerOptions();
        Options.Validate();
        _scalars = new OptimizerScalars(backend.Config);
        _rowLoss = new float[backend.Config.InstanceCount * backend.Config.Batch];
        _loss = new float[backend.Config.InstanceCount];
        _nonFinite = new long[backend.Config.InstanceCount];
        _backendNonFinite = new long[backend.Config.InstanceCount];
    }

    /// <summary>Continues from a checkpoint of the same config.</summary>
    public void Restore(Checkpoint checkpoint)
    {
        if (ConfigJson.Write(checkpoint.Config) != ConfigJson.Write(Config))
            throw new ArgumentException("the checkpoint's config differs from this trainer's", nameof(checkpoint));
        Backend.SetParameters(checkpoint.Parameters);
        Backend.SetOptimizerState(checkpoint.OptimizerState);
        Step = checkpoint.Step;
    }

    /// <summary>Continues from a checkpoint file of the same config, streamed into the backend (no copy of the model).</summary>
    public void Restore(CheckpointReader checkpoint)
    {
        checkpoint.ReadInto(Backend);
        Step = checkpoint.Step;
    }

    /// <summary>The weights hash and step of the last checkpoint this trainer wrote, or null.</summary>
    public (long Step, string WeightsSha256)? LastSaved { get; private set; }

    /// <summary>Writes the current state to <paramref name="path"/>, streamed off the backend (no copy of the model).</summary>
    public string Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        string hash = CheckpointWriter.Write(path, Backend, Step, metadata ?? Options.CheckpointMetadata?.Invoke());
        LastSaved = (Step, hash);
        return hash;
    }

    /// <summary>The weights hash of the current parameters (the one a checkpoint written now records).</summary>
    public string WeightsSha256() => LastSaved is var (step, hash) && step == Step ? hash : WeightsHash.Of(Backend);

    /// <summary>
    /// Host memory the trainer holds beside its backend: the row losses it reads (evaluation reuses them a batch at a
    /// time) and, when it evaluates, R32 lanes per instance. Checkpoints stream through the run's one streaming
    /// buffer (<see cref="BackendFactory.EstimateMemory"/> counts it).
    /// </summary>
    public static IEnumerable<Memory.MemoryPart> MemoryParts(AutoencoderConfig config, long evalSamples)
    {
        long k = config.InstanceCount;
        yield return new("row losses", 4 * k * config.Batch);
        if (evalSamples > 0) yield return new("evaluation lanes", 4 * k * R32.Lanes);
    }

    /// <summary>The current state as an in-memory checkpoint (copied off the backend; for models that fit arrays).</summary>
    public Checkpoint Snapshot(IReadOnlyDictionary<string, string>? metadata = null)
    {
        var parameters = new float[Config.Layout.Total];
        var state = new float[Config.Optimizer.StateSlots * Config.Layout.Total];
        Backend.GetParameters(parameters);
        Backend.GetOptimizerState(state);
        return new Checkpoint(Config, Step, parameters, state, metadata ?? Options.CheckpointMetadata?.Invoke());
    }

    /// <summary>Trains until <see cref="Step"/> = <paramref name="totalSteps"/>, or until cancelled (after a whole step).</summary>
    public TrainingResult Run(long totalSteps, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (totalSteps < Step || totalSteps > AutoencoderConfig.MaxSteps)
            throw new ConfigException("steps", totalSteps, $"an integer in [{Step} (steps already done), {AutoencoderConfig.MaxSteps}]");
        long logEvery = Options.LogEvery > 0 ? Options.LogEvery : Math.Max(1, (totalSteps - Step) / 100);
        var total = Stopwatch.StartNew();
        var stepping = new Stopwatch();
        long firstStep = Step, lastReportStep = Step;
        long warmupEnd = Options.WarmupSteps > 0 ? Math.Min(totalSteps, firstStep + Options.WarmupSteps) : firstStep;
        double lastReportTime = 0, warmupSeconds = 0;
        float[] finalLoss = [];
        float[]? evalLoss = null;
        bool cancelled = false;
        Array.Fill(_nonFinite, -1L);

        while (Step < totalSteps)
        {
            if (cancellation.IsCancellationRequested)
            {
                Backend.Read(TensorKind.RowLoss, _rowLoss); // let the device finish the steps queued
                stepping.Stop();
                cancelled = true;
                break;
            }
            // A device backend may return before its step is done; the loss read below waits for it,
            // so the stepping clock runs until then and steps/s counts finished steps only.
            stepping.Start();
            Backend.Step(_scalars.Set(Step));
            Step++;

            bool last = Step == totalSteps;
            bool warmupDone = Step == warmupEnd && Step > firstStep;
            bool report = last || warmupDone || Step % logEvery == 0;
            bool evaluate = Options.EvalSamples > 0 && (last || (Options.EvalEvery > 0 && Step % Options.EvalEvery == 0));
            bool checkpoint = Options.CheckpointPath is not null && (last || (Options.CheckpointEvery > 0 && Step % Options.CheckpointEvery == 0));
            if (!report && !evaluate && !checkpoint) continue;

            finalLoss = ReadLoss();
            stepping.Stop();
            if (warmupDone) warmupSeconds = stepping.Elapsed.TotalSeconds;
            CheckDivergence(finalLoss);
            // The checkpoint before the evaluation: whatever happens after a step, the step is kept.
            if (checkpoint) Save(Options.CheckpointPath!);
            float[]? eval = evaluate ? Evaluate() : null;
            if (eval is not null) evalLoss = eval;
            double now = stepping.Elapsed.TotalSeconds;
            double speed = now > lastReportTime ? (Step - lastReportStep) / (now - lastReportTime) : 0;
            lastReportStep = Step;
            lastReportTime = now;
            progress?.Report(new TrainingProgress(Step, totalSteps, finalLoss, eval, speed, total.Elapsed));
        }
        if (Step == firstStep && !cancelled && Options.EvalSamples > 0)
            evalLoss = Evaluate(); // nothing left to train (resumed at the end): still report evaluation
        // Steps/s past the warm-up: 0 when the run ended within it.
        double seconds = stepping.Elapsed.TotalSeconds - warmupSeconds;
        long timed = Step - warmupEnd;
        return new TrainingResult(Step, finalLoss, evalLoss, seconds > 0 && timed > 0 ? timed / seconds : 0, total.Elapsed,
            (long[])_nonFinite.Clone(), cancelled);
    }

    /// <summary>The batch loss of the last step, per instance.</summary>
    public float[] ReadLoss()
    {
        Backend.Read(TensorKind.RowLoss, _rowLoss);
        var loss = new float[Config.InstanceCount];
        LossReduction.Finish(_rowLoss, Config.Batch, Config.N, loss);
        return loss;
    }

    /// <summary>The loss on <see cref="TrainerOptions.EvalSamples"/> evaluation samples, per instance.</summary>
    public float[] Evaluate() => Evaluate(Options.EvalSamples);

    /// <remarks>
    /// The rows are reduced as they arrive, a batch at a time, into R32 lanes per instance: the bits of
    /// <see cref="LossReduction.Finish"/> over all rows at once, in memory of one batch, for any number of samples.
    /// </remarks>
    public float[] Evaluate(int samples)
    {
        if (samples < 1) throw new ConfigException("eval-samples", samples, "an integer >= 1");
        int k = Config.InstanceCount, batch = Config.Batch;
        var lanes = new float[k * R32.Lanes];
        for (long first = 0; first < samples; first += batch)
        {
            int count = (int)Math.Min(batch, samples - first);
            var rows = _rowLoss.AsSpan(0, k * count);
            Backend.Evaluate(first, count, rows);
            for (int s = 0; s < k; s++)
                R32.Accumulate(lanes.AsSpan(s * R32.Lanes, R32.Lanes), first, rows.Slice(s * count, count));
        }
        var loss = new float[k];
        float scale = LossReduction.Scale(samples, Config.N);
        for (int s = 0; s < k; s++) loss[s] = R32.Tree(lanes.AsSpan(s * R32.Lanes, R32.Lanes)) * scale;
        return loss;
    }

    private void CheckDivergence(float[] loss)
    {
        Backend.ReadFirstNonFiniteStep(_backendNonFinite);
        for (int s = 0; s < loss.Length; s++)
        {
            if (_backendNonFinite[s] >= 0 && (_nonFinite[s] < 0 || _backendNonFinite[s] < _nonFinite[s])) _nonFinite[s] = _backendNonFinite[s];
            // A non-finite loss with finite parameters: the forward pass overflowed at the step just run.
            if (_nonFinite[s] < 0 && !float.IsFinite(loss[s])) _nonFinite[s] = Step - 1;
            if (_nonFinite[s] >= 0 && Options.OnDivergence == DivergencePolicy.Stop)
                throw new DivergenceException(s, _nonFinite[s], float.IsFinite(loss[s])
                    ? "a parameter became non-finite"
                    : $"the loss is {loss[s]}");
        }
    }
}
