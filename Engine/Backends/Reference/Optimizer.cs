using ToyModels.Model;

namespace ToyModels.Backends.Reference;

/// <summary>The optimizer update of one instance's block, element by element, as <see cref="OptimizerScalars"/> states it.</summary>
internal static class Optimizer
{
    /// <summary>Updates p (and the state slots) from g; returns false if any updated parameter is not finite.</summary>
    /// <param name="o">The step's scalars.</param>
    /// <param name="s">The instance (its step size and decay factor).</param>
    /// <param name="p">The instance's parameters, updated in place.</param>
    /// <param name="gradient">Their gradients.</param>
    /// <param name="first">Adam's m, or SGD's momentum buffer (empty without momentum).</param>
    /// <param name="second">Adam's v (empty for SGD).</param>
    public static bool Update(OptimizerScalars o, int s, Span<float> p, ReadOnlySpan<float> gradient, Span<float> first, Span<float> second)
    {
        int length = p.Length;
        bool finite = true;
        float stepSize = o.StepSize[s];
        if (o.Kind == OptimizerKind.Sgd)
        {
            for (int e = 0; e < length; e++)
            {
                float g = gradient[e];
                if (o.L2 != 0f) g = MathF.FusedMultiplyAdd(o.L2, p[e], g);
                if (o.Momentum != 0f)
                {
                    first[e] = MathF.FusedMultiplyAdd(o.Momentum, first[e], g);
                    g = first[e];
                }
                p[e] = MathF.FusedMultiplyAdd(-stepSize, g, p[e]);
                finite &= float.IsFinite(p[e]);
            }
            return finite;
        }

        var m = first;
        var v = second;
        float decay = o.DecayFactor[s];
        bool decoupled = o.Kind == OptimizerKind.AdamW;
        for (int e = 0; e < length; e++)
        {
            float g = gradient[e];
            if (o.L2 != 0f) g = MathF.FusedMultiplyAdd(o.L2, p[e], g);
            if (decoupled) p[e] = p[e] * decay;
            m[e] = MathF.FusedMultiplyAdd(o.Beta1, m[e], o.OneMinusBeta1 * g);
            v[e] = MathF.FusedMultiplyAdd(o.Beta2, v[e], o.OneMinusBeta2 * (g * g));
            float denom = MathF.Sqrt(v[e]) / o.BiasCorrection2Sqrt + o.Eps;
            p[e] = MathF.FusedMultiplyAdd(-stepSize, m[e] / denom, p[e]);
            finite &= float.IsFinite(p[e]);
        }
        return finite;
    }
}
