namespace ToyModels.Model;

/// <summary>One named tensor of an instance's parameter block: offset and length in floats, row-major shape.</summary>
public readonly record struct TensorView(string Name, int Offset, int Length, int Rows, int Columns)
{
    public Span<float> Of(Span<float> block) => block.Slice(Offset, Length);
    public ReadOnlySpan<float> Of(ReadOnlySpan<float> block) => block.Slice(Offset, Length);
}

/// <summary>
/// Where every parameter lives in the one parameter allocation (llm.c style), instance-major:
/// instance s owns the contiguous block [s * PerInstance, (s + 1) * PerInstance), which holds
/// W_in (m x n, row-major), then W_out (n x m, untied only), then b (n, with bias only).
/// Tied models hold W (m x n) in W_in's place. Gradients and each optimizer-state slot
/// (Adam's m and v; SGD's momentum) use the same layout.
/// </summary>
public sealed class ParameterLayout
{
    public int N { get; }
    public int M { get; }
    public bool Tied { get; }
    public bool Bias { get; }
    public int Instances { get; }

    /// <summary>W_in (untied) or W (tied): m x n.</summary>
    public TensorView Encoder { get; }
    /// <summary>W_out: n x m (untied only; Length 0 when tied).</summary>
    public TensorView Decoder { get; }
    /// <summary>b: n (Length 0 without bias).</summary>
    public TensorView BiasVector { get; }

    /// <summary>Floats per instance.</summary>
    public int PerInstance { get; }
    /// <summary>Floats for all instances.</summary>
    public int Total { get; }

    /// <summary>The tensors that exist, in hash and file order: W_in or W, then W_out, then b.</summary>
    public IReadOnlyList<TensorView> Tensors { get; }

    internal ParameterLayout(int n, int m, bool tied, bool bias, int instances)
    {
        N = n; M = m; Tied = tied; Bias = bias; Instances = instances;
        int mn = checked(m * n);
        Encoder = new TensorView(tied ? "W" : "W_in", 0, mn, m, n);
        Decoder = new TensorView("W_out", mn, tied ? 0 : mn, n, m);
        BiasVector = new TensorView("b", checked(Decoder.Offset + Decoder.Length), bias ? n : 0, 1, n);
        PerInstance = checked(BiasVector.Offset + BiasVector.Length);
        Total = checked(PerInstance * instances);
        var tensors = new List<TensorView> { Encoder };
        if (!tied) tensors.Add(Decoder);
        if (bias) tensors.Add(BiasVector);
        Tensors = tensors;
    }

    /// <summary>The block of instance s in a buffer of this layout.</summary>
    public Span<float> Instance(Span<float> all, int s) => all.Slice(s * PerInstance, PerInstance);
    public ReadOnlySpan<float> Instance(ReadOnlySpan<float> all, int s) => all.Slice(s * PerInstance, PerInstance);
}
