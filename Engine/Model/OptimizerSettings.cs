namespace ToyModels.Model;

/// <summary>The update rule (the exact float sequence of each is numerics.md's).</summary>
public enum OptimizerKind
{
    /// <summary>Adam in PyTorch's form; weight decay, if any, is added to the gradient (L2).</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter 2019): p *= 1 - lr * wd first.</summary>
    AdamW,
    /// <summary>SGD with optional momentum (PyTorch's form, no dampening); weight decay added to the gradient.</summary>
    Sgd,
}

/// <summary>Optimizer settings shared by every instance of a run (the learning rate is per instance).</summary>
public sealed record OptimizerSettings
{
    /// <summary>The update rule; Adam by default.</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.Adam;
    /// <summary>Adam's first-moment decay, in [0, 1) (default <see cref="Defaults.Beta1"/>).</summary>
    public double Beta1 { get; init; } = Defaults.Beta1;
    /// <summary>Adam's second-moment decay, in [0, 1) (default <see cref="Defaults.Beta2"/>).</summary>
    public double Beta2 { get; init; } = Defaults.Beta2;
    /// <summary>Adam's epsilon, added to sqrt(v) / sqrt(1 - beta2^t); finite and &gt; 0 (default <see cref="Defaults.AdamEps"/>).</summary>
    public double Eps { get; init; } = Defaults.AdamEps;
    /// <summary>Weight decay, finite and &gt;= 0: L2 added to the gradient for Adam and SGD, decoupled for AdamW. Default 0.</summary>
    public double WeightDecay { get; init; }
    /// <summary>SGD momentum, in [0, 1); must be 0 for Adam and AdamW. Default 0.</summary>
    public double Momentum { get; init; }

    /// <summary>Float slots of optimizer state per parameter: Adam 2 (m, v), SGD with momentum 1, plain SGD 0.</summary>
    public int StateSlots => Kind switch
    {
        OptimizerKind.Sgd => Momentum > 0 ? 1 : 0,
        _ => 2,
    };

    /// <summary>The name <see cref="Parse"/> reads: adam, adamw or sgd.</summary>
    public static string Name(OptimizerKind kind) => kind switch
    {
        OptimizerKind.AdamW => "adamw",
        OptimizerKind.Sgd => "sgd",
        _ => "adam",
    };

    /// <summary>adam, adamw or sgd; anything else throws <see cref="ConfigException"/>.</summary>
    public static OptimizerKind Parse(string text) => text switch
    {
        "adam" => OptimizerKind.Adam,
        "adamw" => OptimizerKind.AdamW,
        "sgd" => OptimizerKind.Sgd,
        _ => throw new ConfigException("OptimizerSettings.Kind", text, "adam, adamw or sgd"),
    };

    internal void Validate()
    {
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ConfigException("OptimizerSettings.Beta1", Beta1, "a number in [0, 1)");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ConfigException("OptimizerSettings.Beta2", Beta2, "a number in [0, 1)");
        if (!(Eps > 0 && double.IsFinite(Eps))) throw new ConfigException("OptimizerSettings.Eps", Eps, "a finite number > 0");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new ConfigException("OptimizerSettings.WeightDecay", WeightDecay, "a finite number >= 0");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ConfigException("OptimizerSettings.Momentum", Momentum, "a number in [0, 1)");
        if (Kind != OptimizerKind.Sgd && Momentum != 0) throw new ConfigException("OptimizerSettings.Momentum", Momentum, "0 unless OptimizerSettings.Kind is OptimizerKind.Sgd");
    }
}
