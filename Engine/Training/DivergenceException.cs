namespace ToyModels.Training;

/// <summary>Training stopped because a loss or a parameter became non-finite.</summary>
public sealed class DivergenceException : Exception
{
    /// <summary>Instance <paramref name="instance"/> of a run diverged at <paramref name="step"/>; <paramref name="what"/> says how.</summary>
    public DivergenceException(int instance, long step, string what)
        : base($"instance {instance} diverged at step {step}: {what}; a smaller {Rate} may help")
    {
        Instance = instance;
        Step = step;
        Setting = Rate;
    }

    private const string Rate = "InstanceSettings.LearningRate";

    private DivergenceException(long step, string message, string setting) : base(message)
    {
        Step = step;
        Setting = setting;
    }

    /// <summary>
    /// A fit other than training diverged (the Persian rug's scalars): the message names it and the step; <paramref name="setting"/>
    /// is the setting that a smaller value of may help, in the engine's terms (e.g. "RugFitOptions.LearningRate").
    /// </summary>
    public static DivergenceException OfFit(long step, string message, string setting) => new(step, message, setting);

    /// <summary>The instance that diverged (0 for a fit).</summary>
    public int Instance { get; }
    /// <summary>0-based index of the step at which the first non-finite value appeared.</summary>
    public long Step { get; }
    /// <summary>The setting whose smaller value may help, named as <see cref="Model.ConfigException.Field"/> names settings.</summary>
    public string Setting { get; }
}
