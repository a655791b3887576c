namespace ToyModels.Training;

/// <summary>Training stopped because a loss or a parameter became non-finite.</summary>
public sealed class DivergenceException : Exception
{
    public DivergenceException(int instance, long step, string what)
        : base($"instance {instance} diverged at step {step}: {what} (try a smaller --lr)")
    {
        Instance = instance;
        Step = step;
    }

    private DivergenceException(long step, string message) : base(message) => Step = step;

    /// <summary>A fit other than training diverged (the Persian rug's scalars): the message names it, the step and what to change.</summary>
    public static DivergenceException OfFit(long step, string message) => new(step, message);

    public int Instance { get; }
    /// <summary>0-based index of the step at which the first non-finite value appeared.</summary>
    public long Step { get; }
}
