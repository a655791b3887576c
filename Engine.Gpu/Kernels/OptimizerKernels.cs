using ILGPU;

namespace ToyModels.Gpu.Kernels;

/// <summary>
/// One optimizer step over up to <see cref="Block8.Size"/> instances. The per-instance scalars travel
/// in the arguments, so a step needs no host-to-device copy.
/// </summary>
internal struct OptimizerArguments : IInstanceArguments
{
    public int FirstInstance { get; set; }
    /// <summary>Device layout; State holds the slots one after another, slot stride Total.</summary>
    public ArrayView<float> Parameters, Gradients, State;
    /// <summary>[instances]: the first step whose update left a non-finite parameter, or <see cref="OptimizerKernels.NoStep"/>.</summary>
    public ArrayView<uint> FirstNonFinite;
    public int InstanceParameters, Total;
    public uint Step;
    /// <summary>-StepSize and DecayFactor of instances FirstInstance .. FirstInstance + 7.</summary>
    public Block8 NegativeStepSize, DecayFactor;
    public float Beta1, Beta2, OneMinusBeta1, OneMinusBeta2, Eps, L2, BiasCorrection2Sqrt, Momentum;
    /// <summary>Flags decided on the host: L2 != 0, AdamW, Momentum != 0.</summary>
    public int HasL2, Decoupled, HasMomentum;
}

/// <summary>The optimizers of <see cref="ToyModels.Backends.OptimizerScalars"/>, one work-item per element of an instance block.</summary>
internal static class OptimizerKernels
{
    /// <summary>FirstNonFinite of an instance that has stayed finite (steps are below 2^32 - 1).</summary>
    public const uint NoStep = uint.MaxValue;

    public static void Adam(OptimizerArguments a)
    {
        int chunk = Grid.IdxY, s = a.FirstInstance + chunk;
        if (!WorkItem.Index(a.InstanceParameters, out int e)) return;
        int at = s * a.InstanceParameters + e;
        float g = a.Gradients[at], p = a.Parameters[at];
        if (a.HasL2 != 0) g = Exact.Fma(a.L2, p, g);
        if (a.Decoupled != 0) p = Exact.Mul(p, a.DecayFactor.Get(chunk));
        float m = Exact.Fma(a.Beta1, a.State[at], Exact.Mul(a.OneMinusBeta1, g));
        float v = Exact.Fma(a.Beta2, a.State[a.Total + at], Exact.Mul(a.OneMinusBeta2, Exact.Mul(g, g)));
        a.State[at] = m;
        a.State[a.Total + at] = v;
        float denominator = Exact.Add(Exact.Div(Exact.Sqrt(v), a.BiasCorrection2Sqrt), a.Eps);
        p = Exact.Fma(a.NegativeStepSize.Get(chunk), Exact.Div(m, denominator), p);
        a.Parameters[at] = p;
        RecordNonFinite(a, s, p);
    }

    public static void Sgd(OptimizerArguments a)
    {
        int chunk = Grid.IdxY, s = a.FirstInstance + chunk;
        if (!WorkItem.Index(a.InstanceParameters, out int e)) return;
        int at = s * a.InstanceParameters + e;
        float g = a.Gradients[at], p = a.Parameters[at];
        if (a.HasL2 != 0) g = Exact.Fma(a.L2, p, g);
        if (a.HasMomentum != 0)
        {
            g = Exact.Fma(a.Momentum, a.State[at], g);
            a.State[at] = g;
        }
        p = Exact.Fma(a.NegativeStepSize.Get(chunk), g, p);
        a.Parameters[at] = p;
        RecordNonFinite(a, s, p);
    }

    /// <summary>
    /// Records the step unless an earlier one was recorded. No atomic is needed: earlier launches have
    /// finished, so the slot holds <see cref="NoStep"/> or an earlier step, and every work-item of this
    /// launch that writes writes the same value. (ILGPU's OpenCL C for an atomic compare-and-swap casts
    /// the pointer to the generic address space, which OpenCL C 1.2 compilers reject.)
    /// </summary>
    private static void RecordNonFinite(OptimizerArguments a, int s, float p)
    {
        if ((Interop.FloatAsInt(p) & 0x7F800000) == 0x7F800000 && a.FirstNonFinite[s] == NoStep)
            a.FirstNonFinite[s] = a.Step;
    }
}
