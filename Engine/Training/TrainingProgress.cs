namespace ToyModels.Training;

/// <summary>
/// A progress report of <see cref="Trainer.Run"/>: after <see cref="Step"/> of <see cref="TotalSteps"/> steps, the batch loss of
/// that step per instance, the evaluation loss per instance when this report evaluated, and the
/// speed since the previous report.
/// </summary>
/// <param name="Step">Steps completed in total.</param>
/// <param name="TotalSteps">The step the run trains to.</param>
/// <param name="Loss">Batch loss of step <see cref="Step"/>, per instance.</param>
/// <param name="EvalLoss">Evaluation loss per instance when this report evaluated, else null.</param>
/// <param name="StepsPerSecond">Steps since the previous report over the time spent stepping them.</param>
/// <param name="Elapsed">Wall time since the run started.</param>
public sealed record TrainingProgress(long Step, long TotalSteps, IReadOnlyList<float> Loss, IReadOnlyList<float>? EvalLoss,
    double StepsPerSecond, TimeSpan Elapsed)
{
    /// <summary>Mean loss over instances (in double), for one-line displays.</summary>
    public double MeanLoss => Loss.Average(l => (double)l);
    /// <summary>Mean evaluation loss over instances (in double), or null when this report did not evaluate.</summary>
    public double? MeanEvalLoss => EvalLoss?.Average(l => (double)l);
}

/// <summary>What a run did (a cancelled run's is in <see cref="TrainingCanceledException.Result"/>).</summary>
/// <param name="Steps">Steps completed in total (a resumed run counts the checkpoint's steps too).</param>
/// <param name="FinalLoss">Batch loss of the last step, per instance.</param>
/// <param name="EvalLoss">Evaluation loss at the end per instance, or null when evaluation is off.</param>
/// <param name="StepsPerSecond">Steps of this run past <see cref="TrainerOptions.WarmupSteps"/> over the time spent stepping them
/// (evaluation and checkpoints excluded); 0 when none were past the warm-up.</param>
/// <param name="Elapsed">Wall time of this run, evaluation and checkpoints included.</param>
/// <param name="FirstNonFiniteStep">Per instance, the step at which it diverged, or -1.</param>
public sealed record TrainingResult(long Steps, float[] FinalLoss, float[]? EvalLoss, double StepsPerSecond, TimeSpan Elapsed,
    long[] FirstNonFiniteStep)
{
    /// <summary>Whether any instance diverged (<see cref="DivergencePolicy.Continue"/> keeps training the others).</summary>
    public bool Diverged => FirstNonFiniteStep.Any(s => s >= 0);
}
