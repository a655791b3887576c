using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Phases;
using ToyModels.Model;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>
/// The optimizer update applied to gradient lanes as soon as they are finished (or read back from a
/// stored gradient): the exact per-element sequence of <see cref="OptimizerScalars"/>, lane by lane.
/// Parameters and state slots share one layout, so one offset addresses all of them.
/// </summary>
internal unsafe struct OptimizerSink<TVec, TLanes> : IRowSink<TVec>
    where TVec : unmanaged where TLanes : ILanes<TVec>
{
    private readonly float* _parameters, _first, _second;
    private readonly OptimizerKind _kind;
    private readonly bool _l2, _momentum;
    private readonly TVec _l2Value, _decay, _beta1, _beta2, _oneMinusBeta1, _oneMinusBeta2, _biasCorrection2Sqrt, _eps, _momentumValue, _negativeStepSize;
    private nint _row;
    private int _width;
    private bool _track;

    /// <summary>Bit l is set once a real (not padding) updated parameter was not finite.</summary>
    public uint NonFinite;
    /// <summary>Per lane, the smallest nonzero finite magnitude of the updated W_out (for the choice of exact paths, <see cref="ExactDense"/>).</summary>
    public TVec Smallest;

    /// <param name="o">The step's scalars: the rule, betas, eps, L2 and momentum, broadcast to every lane here.</param>
    /// <param name="instance">The instance's index in the pack (0 .. K - 1): picks its StepSize and DecayFactor from <paramref name="o"/>.</param>
    /// <param name="parameters">The instance's parameter block; <paramref name="first"/> and <paramref name="second"/> its state slots (or null).</param>
    /// <param name="first">Adam's m or SGD's momentum buffer, at the parameters' offsets; read and written. Null only for SGD without momentum.</param>
    /// <param name="second">Adam's v, at the parameters' offsets; read and written. Null for SGD, which never reads it.</param>
    public OptimizerSink(OptimizerScalars o, int instance, float* parameters, float* first, float* second)
    {
        _parameters = parameters;
        _first = first;
        _second = second;
        _kind = o.Kind;
        _l2 = o.L2 != 0f;
        _momentum = o.Momentum != 0f;
        _l2Value = TLanes.Broadcast(o.L2);
        _decay = TLanes.Broadcast(o.DecayFactor[instance]);
        _beta1 = TLanes.Broadcast(o.Beta1);
        _beta2 = TLanes.Broadcast(o.Beta2);
        _oneMinusBeta1 = TLanes.Broadcast(o.OneMinusBeta1);
        _oneMinusBeta2 = TLanes.Broadcast(o.OneMinusBeta2);
        _biasCorrection2Sqrt = TLanes.Broadcast(o.BiasCorrection2Sqrt);
        _eps = TLanes.Broadcast(o.Eps);
        _momentumValue = TLanes.Broadcast(o.Momentum);
        _negativeStepSize = TLanes.Broadcast(-o.StepSize[instance]);
        _row = 0;
        _width = 0;
        NonFinite = 0;
        _track = false;
        Smallest = TLanes.Broadcast(float.PositiveInfinity);
    }

    /// <summary>
    /// The next row starts at <paramref name="offset"/> in the block; its first <paramref name="width"/> lanes are real.
    /// Rows of W_out (<paramref name="decoder"/>) update <see cref="Smallest"/>.
    /// </summary>
    public void Start(nint offset, int width, bool decoder = false)
    {
        _row = offset;
        _width = width;
        _track = decoder;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Put(int j, TVec g)
    {
        nint o = _row + j;
        TVec p = TLanes.Load(_parameters + o);
        if (_l2) g = TLanes.Fma(_l2Value, p, g);
        if (_kind == OptimizerKind.Sgd)
        {
            if (_momentum)
            {
                g = TLanes.Fma(_momentumValue, TLanes.Load(_first + o), g);
                TLanes.Store(_first + o, g);
            }
            p = TLanes.Fma(_negativeStepSize, g, p);
        }
        else
        {
            if (_kind == OptimizerKind.AdamW) p = TLanes.Multiply(p, _decay);
            TVec m = TLanes.Fma(_beta1, TLanes.Load(_first + o), TLanes.Multiply(_oneMinusBeta1, g));
            TVec v = TLanes.Fma(_beta2, TLanes.Load(_second + o), TLanes.Multiply(_oneMinusBeta2, TLanes.Multiply(g, g)));
            TLanes.Store(_first + o, m);
            TLanes.Store(_second + o, v);
            TVec denominator = TLanes.Add(TLanes.Divide(TLanes.Sqrt(v), _biasCorrection2Sqrt), _eps);
            p = TLanes.Fma(_negativeStepSize, TLanes.Divide(m, denominator), p);
        }
        TLanes.Store(_parameters + o, p);
        uint bad = TLanes.NonFiniteBits(p);
        int real = _width - j;
        if (real < TLanes.Count)
        {
            bad &= real <= 0 ? 0u : (1u << real) - 1;
            p = TLanes.KeepFirst(p, real);
        }
        NonFinite |= bad;
        if (_track) Smallest = TLanes.MinMagnitude(Smallest, p);
    }
}
