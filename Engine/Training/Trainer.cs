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
/// <para>
/// Cancellation, as everywhere in the engine: a cancelled <see cref="CancellationToken"/> makes <see cref="Run"/> throw an
/// <see cref="OperationCanceledException"/> carrying that token (here a <see cref="TrainingCanceledException"/>), at a step
/// boundary. The trainer and its backend then hold exactly the state after <see cref="Step"/> steps: save it, snapshot it,
/// or call <see cref="Run"/> again to continue.
/// </para>
/// </remarks>
public sealed class Trainer
{
    private readonly OptimizerScalars _scalars;
    private readonly float[] _rowLoss;
    private readonly float[] _loss;
    private readonly long[] _nonFinite;
    private readonly long[] _backendNonFinite;

    /// <summary>The backend that holds the model and runs the steps (the trainer does not dispose it).</summary>
    public IBackend Backend { get; }
    /// <summary>The backend's config.</summary>
    public AutoencoderConfig Config => Backend.Config;
    /// <summary>Evaluation, reporting, checkpoint and divergence settings.</summary>
    public TrainerOptions Options { get; }
    /// <summary>Optimizer steps completed: the backend holds the state after exactly this many steps.</summary>
    public long Step { get; private set; }

    /// <summary>A trainer at step 0 of <paramref name="backend"/> (or at a checkpoint's step after <see cref="Restore(Checkpoint)"/>).</summary>
    /// <exception cref="ConfigException">An option is out of range.</exception>
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

    /// <summary>Trains until <see cref="Step"/> = <paramref name="totalSteps"/>.</summary>
    /// <param name="totalSteps">The step to reach: at least <see cref="Step"/>, at most <see cref="AutoencoderConfig.MaxSteps"/>.</param>
    /// <param name="progress">Reports at every <see cref="TrainerOptions.LogEvery"/>-th step, the warm-up's end and the last step,
    /// on the thread that trains (use <see cref="SyncProgress{T}"/> for reports at once and in order).</param>
    /// <param name="cancellation">Checked before the first step and between steps (see <see cref="TrainingCanceledException"/>).</param>
    /// <exception cref="TrainingCanceledException">The token was cancelled before the run reached <paramref name="totalSteps"/>:
    /// the trainer and its backend hold the state after exactly <see cref="Step"/> steps, as a run of that many steps leaves them.</exception>
    /// <exception cref="DivergenceException">An instance diverged and <see cref="TrainerOptions.OnDivergence"/> is <see cref="DivergencePolicy.Stop"/>.</exception>
    /// <exception cref="ConfigException"><paramref name="totalSteps"/> is out of range.</exception>
    public TrainingResult Run(long totalSteps, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (totalSteps < Step || totalSteps > AutoencoderConfig.MaxSteps)
            throw new ConfigException("Trainer.Run(totalSteps)", totalSteps, $"an integer in [{Step} (Trainer.Step, the steps already done), {AutoencoderConfig.MaxSteps}]");
        long logEvery = Options.LogEvery > 0 ? Options.LogEvery : Math.Max(1, (totalSteps - Step) / 100);
        var total = Stopwatch.StartNew();
        var stepping = new Stopwatch();
        long firstStep = Step, lastReportStep = Step;
        long warmupEnd = Options.WarmupSteps > 0 ? Math.Min(totalSteps, firstStep + Options.WarmupSteps) : firstStep;
        double lastReportTime = 0, warmupSeconds = 0;
        float[] finalLoss = [];
        float[]? evalLoss = null;
        Array.Fill(_nonFinite, -1L);

        TrainingResult Result()
        {
            // Steps/s past the warm-up: 0 when the run ended within it.
            double seconds = stepping.Elapsed.TotalSeconds - warmupSeconds;
            long timed = Step - warmupEnd;
            return new TrainingResult(Step, finalLoss, evalLoss, seconds > 0 && timed > 0 ? timed / seconds : 0, total.Elapsed, (long[])_nonFinite.Clone());
        }

        while (Step < totalSteps)
        {
            if (cancellation.IsCancellationRequested)
            {
                // The loss read waits for the steps a device backend queued: the state is then that of Step steps.
                if (Step > firstStep)
                {
                    finalLoss = ReadLoss();
                    RecordDivergence(finalLoss);
                }
                stepping.Stop();
                throw new TrainingCanceledException(Result(), cancellation);
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
            int diverged = RecordDivergence(finalLoss);
            if (diverged >= 0 && Options.OnDivergence == DivergencePolicy.Stop)
                throw new DivergenceException(diverged, _nonFinite[diverged], float.IsFinite(finalLoss[diverged])
                    ? "a parameter became non-finite"
                    : $"the loss is {finalLoss[diverged]}");
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
        if (Step == firstStep)
        {
            // Nothing left to train (resumed at the end): a cancelled token still cancels; otherwise report the evaluation.
            if (cancellation.IsCancellationRequested) throw new TrainingCanceledException(Result(), cancellation);
            if (Options.EvalSamples > 0) evalLoss = Evaluate();
        }
        return Result();
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

    /// <summary>The loss on <paramref name="samples"/> evaluation samples (data stream v1's evaluation streams), per instance.</summary>
    /// <remarks>
    /// The rows are reduced as they arrive, a batch at a time, into R32 lanes per instance: the bits of
    /// <see cref="LossReduction.Finish"/> over all rows at once, in memory of one batch, for any number of samples.
    /// </remarks>
    public float[] Evaluate(int samples)
    {
        if (samples < 1) throw new ConfigException("Trainer.Evaluate(samples)", samples, "an integer >= 1");
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

    /// <summary>Records each instance's first non-finite step; returns the first instance that has one, or -1.</summary>
    private int RecordDivergence(float[] loss)
    {
        Backend.ReadFirstNonFiniteStep(_backendNonFinite);
        int first = -1;
        for (int s = 0; s < loss.Length; s++)
        {
            if (_backendNonFinite[s] >= 0 && (_nonFinite[s] < 0 || _backendNonFinite[s] < _nonFinite[s])) _nonFinite[s] = _backendNonFinite[s];
            // A non-finite loss with finite parameters: the forward pass overflowed at the step just run.
            if (_nonFinite[s] < 0 && !float.IsFinite(loss[s])) _nonFinite[s] = Step - 1;
            if (_nonFinite[s] >= 0 && first < 0) first = s;
        }
        return first;
    }
}
