namespace ToyModels.Training;

/// <summary>
/// A progress report: after <see cref="Step"/> of <see cref="TotalSteps"/> steps, the batch loss of
/// that step per instance, the evaluation loss per instance when this report evaluated, and the
/// speed since the previous report.
/// </summary>
public sealed record TrainingProgress(long Step, long TotalSteps, IReadOnlyList<float> Loss, IReadOnlyList<float>? EvalLoss,
    double StepsPerSecond, TimeSpan Elapsed)
{
    /// <summary>Mean loss over instances (in double), for one-line displays.</summary>
    public double MeanLoss => Loss.Average(l => (double)l);
    public double? MeanEvalLoss => EvalLoss?.Average(l => (double)l);
}

/// <summary>What a run did.</summary>
/// <param name="Steps">Steps completed in total (a resumed run counts the checkpoint's steps too).</param>
/// <param name="FinalLoss">Batch loss of the last step, per instance.</param>
/// <param name="EvalLoss">Evaluation loss at the end per instance, or null when evaluation is off.</param>
/// <param name="StepsPerSecond">Steps of this run past <see cref="TrainerOptions.WarmupSteps"/> over the time spent stepping them
/// (evaluation and checkpoints excluded); 0 when none were past the warm-up.</param>
/// <param name="FirstNonFiniteStep">Per instance, the step at which it diverged, or -1.</param>
public sealed record TrainingResult(long Steps, float[] FinalLoss, float[]? EvalLoss, double StepsPerSecond, TimeSpan Elapsed,
    long[] FirstNonFiniteStep, bool Cancelled)
{
    public bool Diverged => FirstNonFiniteStep.Any(s => s >= 0);
}
