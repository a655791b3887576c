namespace ToyModels.Training;

/// <summary>Training stopped because a loss or a parameter became non-finite.</summary>
public sealed class DivergenceException(int instance, long step, string what)
    : Exception($"instance {instance} diverged at step {step}: {what} (try a smaller --lr)")
{
    public int Instance { get; } = instance;
    /// <summary>0-based index of the step at which the first non-finite value appeared.</summary>
    public long Step { get; } = step;
}
