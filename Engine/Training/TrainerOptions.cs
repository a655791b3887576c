namespace ToyModels.Training;

/// <summary>What <see cref="Trainer.Run"/> does when an instance's loss or parameters become non-finite.</summary>
public enum DivergencePolicy
{
    /// <summary>Throw <see cref="DivergenceException"/> (a single run).</summary>
    Stop,
    /// <summary>Record the step and carry on: instances are independent, the others are unaffected (sweeps).</summary>
    Continue,
}

/// <summary>How a <see cref="Trainer"/> evaluates, reports, checkpoints and treats divergence; the defaults train and evaluate at the end.</summary>
public sealed record TrainerOptions
{
    /// <summary>Evaluation samples (data stream v1's evaluation streams); 0 turns evaluation off.</summary>
    public int EvalSamples { get; init; } = Model.Defaults.EvalSamples;
    /// <summary>Read the loss and report every this many steps; 0 picks about 100 reports per run.</summary>
    public long LogEvery { get; init; }
    /// <summary>Evaluate every this many steps; 0 evaluates at the end only.</summary>
    public long EvalEvery { get; init; }
    /// <summary>Where to keep the latest checkpoint (atomically replaced), or null for none.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>Write the checkpoint every this many steps; 0 writes it at the end only.</summary>
    public long CheckpointEvery { get; init; }
    /// <summary>
    /// Steps at the start of each <see cref="Trainer.Run"/> that train as usual but are left out of
    /// <see cref="TrainingResult.StepsPerSecond"/> (benchmarks time the model past its first steps). The run
    /// reads the loss, and so reports progress, once at the end of the warm-up. 0: every step counts.
    /// </summary>
    public long WarmupSteps { get; init; }
    /// <summary>Stop with a <see cref="DivergenceException"/> (the default), or record the step and continue.</summary>
    public DivergencePolicy OnDivergence { get; init; } = DivergencePolicy.Stop;
    /// <summary>Extra metadata for every checkpoint written.</summary>
    public Func<IReadOnlyDictionary<string, string>>? CheckpointMetadata { get; init; }

    /// <summary>Throws a <see cref="Model.ConfigException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (EvalSamples < 0) throw new Model.ConfigException("TrainerOptions.EvalSamples", EvalSamples, "an integer >= 0");
        if (LogEvery < 0) throw new Model.ConfigException("TrainerOptions.LogEvery", LogEvery, "an integer >= 0");
        if (EvalEvery < 0) throw new Model.ConfigException("TrainerOptions.EvalEvery", EvalEvery, "an integer >= 0");
        if (WarmupSteps < 0) throw new Model.ConfigException("TrainerOptions.WarmupSteps", WarmupSteps, "an integer >= 0");
        if (CheckpointEvery < 0) throw new Model.ConfigException("TrainerOptions.CheckpointEvery", CheckpointEvery, "an integer >= 0");
    }
}
