using ToyModels.Model;
using ToyModels.Numerics;

namespace ToyModels.Backends;

/// <summary>
/// The scalars of one optimizer step, computed on the host in double and rounded once to float
/// (numerics.md rule 1), then handed to the backend. One object is reused across steps.
/// </summary>
/// <remarks>
/// Per element, in float, with fma the fused multiply-add (the exact sequence every backend repeats):
/// <code>
/// Adam:  if (L2 != 0) g = fma(L2, p, g)
///        if AdamW: p = p * DecayFactor[s]
///        m = fma(Beta1, m, OneMinusBeta1 * g)
///        v = fma(Beta2, v, OneMinusBeta2 * (g * g))
///        denom = sqrt(v) / BiasCorrection2Sqrt + Eps
///        p = fma(-StepSize[s], m / denom, p)
/// SGD:   if (L2 != 0) g = fma(L2, p, g)
///        if (Momentum != 0) { buf = fma(Momentum, buf, g); g = buf }
///        p = fma(-StepSize[s], g, p)
/// </code>
/// with StepSize = lr / (1 - beta1^(t+1)) for Adam (PyTorch's form) and lr for SGD,
/// BiasCorrection2Sqrt = sqrt(1 - beta2^(t+1)), DecayFactor = 1 - lr * weight_decay (AdamW only, else 1),
/// L2 = weight_decay for Adam and SGD, 0 for AdamW. t is the 0-based step index.
/// </remarks>
public sealed class OptimizerScalars
{
    /// <summary>The update rule of the run these scalars were made for.</summary>
    public OptimizerKind Kind { get; }
    /// <summary>0-based index of the step these scalars belong to.</summary>
    public long Step { get; private set; }
    internal float Beta1 { get; }
    internal float Beta2 { get; }
    internal float OneMinusBeta1 { get; }
    internal float OneMinusBeta2 { get; }
    internal float Eps { get; }
    internal float L2 { get; }
    internal float Momentum { get; }
    internal float BiasCorrection2Sqrt { get; private set; }
    /// <summary>Per instance.</summary>
    internal float[] StepSize { get; }
    /// <summary>Per instance (1 unless AdamW).</summary>
    internal float[] DecayFactor { get; }

    private readonly AutoencoderConfig _config;

    /// <summary>The scalars of step 0 for every instance of <paramref name="config"/>; <see cref="Set"/> moves them to another step.</summary>
    public OptimizerScalars(AutoencoderConfig config)
    {
        _config = config ?? throw new ArgumentNullException(nameof(config));
        var o = config.Optimizer;
        Kind = o.Kind;
        Beta1 = (float)o.Beta1;
        Beta2 = (float)o.Beta2;
        OneMinusBeta1 = (float)(1 - o.Beta1);
        OneMinusBeta2 = (float)(1 - o.Beta2);
        Eps = (float)o.Eps;
        L2 = o.Kind == OptimizerKind.AdamW ? 0f : (float)o.WeightDecay;
        Momentum = (float)o.Momentum;
        StepSize = new float[config.InstanceCount];
        DecayFactor = new float[config.InstanceCount];
        Set(0);
    }

    /// <summary>Sets the scalars of step t (0-based) and returns this object. Allocates nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    public OptimizerScalars Set(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "steps are >= 0");
        Step = step;
        var o = _config.Optimizer;
        double bc1 = 1 - HostMath.PowInt(o.Beta1, step + 1);
        BiasCorrection2Sqrt = (float)Math.Sqrt(1 - HostMath.PowInt(o.Beta2, step + 1));
        for (int s = 0; s < StepSize.Length; s++)
        {
            double lr = _config.Instances[s].LearningRate;
            StepSize[s] = (float)(Kind == OptimizerKind.Sgd ? lr : lr / bc1);
            DecayFactor[s] = (float)(Kind == OptimizerKind.AdamW ? 1 - lr * o.WeightDecay : 1.0);
        }
        return this;
    }
}
