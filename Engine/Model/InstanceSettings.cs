namespace ToyModels.Model;

/// <summary>
/// What one instance of a packed run has of its own: its seed (data stream and initialisation),
/// its sparsity p (each feature active with probability p), its learning rate and its importance.
/// </summary>
public sealed record InstanceSettings(ulong Seed, double P, double LearningRate, Importance Importance)
{
    internal void Validate(string prefix)
    {
        if (!(P >= 0 && P <= 1)) throw new ConfigException(prefix + "P", P, "a number in [0, 1]");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ConfigException(prefix + "LearningRate", LearningRate, "a finite number > 0");
        Importance.Validate(prefix + "Importance");
    }
}
