namespace ToyModels.Model;

/// <summary>
/// One named tensor of an instance's parameter block: offset and length in floats, row-major shape. Offsets are
/// 64-bit: a block may hold more than 2^31 floats (a span cannot), so <see cref="Of(Span{float})"/> serves the
/// models whose block fits one span, and the rest is addressed by offset.
/// </summary>
public readonly record struct TensorView(string Name, long Offset, long Length, int Rows, int Columns)
{
    /// <summary>This tensor's floats in one instance's parameter block (<see cref="ParameterLayout.Instance(Span{float}, int)"/>); throws <see cref="OverflowException"/> past 2^31 floats.</summary>
    public Span<float> Of(Span<float> block) => block.Slice(checked((int)Offset), checked((int)Length));
    /// <summary>This tensor's floats in one instance's parameter block, read-only.</summary>
    public ReadOnlySpan<float> Of(ReadOnlySpan<float> block) => block.Slice(checked((int)Offset), checked((int)Length));
}

/// <summary>
/// Where every parameter lives in the one parameter allocation (llm.c style), instance-major:
/// instance s owns the contiguous block [s * PerInstance, (s + 1) * PerInstance), which holds
/// W_in (m x n, row-major), then W_out (n x m, untied only), then b (n, with bias only).
/// Tied models hold W (m x n) in W_in's place. Gradients and each optimizer-state slot
/// (Adam's m and v; SGD's momentum) use the same layout.
/// </summary>
/// <remarks>
/// Sizes are counted in 64 bits: untied n 65536, m 8192 holds 2^30 parameters and, with Adam, 2^31 floats of
/// state. Whole-buffer spans (<see cref="Instance(Span{float}, int)"/>) serve the models that fit one span; the
/// backends' accessors (<see cref="Backends.IModelState"/>) take a 64-bit start and move any size in pieces.
/// </remarks>
public sealed class ParameterLayout
{
    /// <summary>n: features.</summary>
    public int N { get; }
    /// <summary>m: hidden dimensions.</summary>
    public int M { get; }
    /// <summary>Whether the model is tied (no W_out block).</summary>
    public bool Tied { get; }
    /// <summary>Whether the model has an output bias (a b block).</summary>
    public bool Bias { get; }
    /// <summary>k: instances, one block each.</summary>
    public int Instances { get; }

    /// <summary>W_in (untied) or W (tied): m x n.</summary>
    public TensorView Encoder { get; }
    /// <summary>W_out: n x m (untied only; Length 0 when tied).</summary>
    public TensorView Decoder { get; }
    /// <summary>b: n (Length 0 without bias).</summary>
    public TensorView BiasVector { get; }

    /// <summary>Floats per instance.</summary>
    public long PerInstance { get; }
    /// <summary>Floats for all instances.</summary>
    public long Total { get; }

    /// <summary>The tensors that exist, in hash and file order: W_in or W, then W_out, then b.</summary>
    public IReadOnlyList<TensorView> Tensors { get; }

    internal ParameterLayout(int n, int m, bool tied, bool bias, int instances)
    {
        N = n; M = m; Tied = tied; Bias = bias; Instances = instances;
        long mn = (long)m * n;
        Encoder = new TensorView(tied ? "W" : "W_in", 0, mn, m, n);
        Decoder = new TensorView("W_out", mn, tied ? 0 : mn, n, m);
        BiasVector = new TensorView("b", Decoder.Offset + Decoder.Length, bias ? n : 0, 1, n);
        PerInstance = BiasVector.Offset + BiasVector.Length;
        Total = checked(PerInstance * instances);
        var tensors = new List<TensorView> { Encoder };
        if (!tied) tensors.Add(Decoder);
        if (bias) tensors.Add(BiasVector);
        Tensors = tensors;
    }

    /// <summary>The block of instance s in a buffer of this layout (a model whose buffers fit one span).</summary>
    public Span<float> Instance(Span<float> all, int s) => all.Slice(checked((int)(s * PerInstance)), checked((int)PerInstance));
    /// <summary>The block of instance s in a buffer of this layout, read-only.</summary>
    public ReadOnlySpan<float> Instance(ReadOnlySpan<float> all, int s) => all.Slice(checked((int)(s * PerInstance)), checked((int)PerInstance));
}
