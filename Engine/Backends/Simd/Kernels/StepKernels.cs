using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Kernels;

/// <summary>The work items of a training step, one method per phase; implemented once, generic over the lanes.</summary>
internal unsafe interface IStepKernels
{
    /// <summary>Samples [b0, b1) of instance s: x as sparse rows and in the dense x^T.</summary>
    void Generate(Workspace w, int s, int b0, int b1, uint step, long firstSample, bool evaluation);
    /// <summary>h for samples [b0, b1) and its transpose h^T; lanes of h^T from <paramref name="rows"/> to the next multiple of 16 are zeroed.</summary>
    void Encode(Workspace w, int s, int b0, int b1, int rows);
    /// <summary>z^T for features [i0, i1), over the first <paramref name="lanes"/> samples.</summary>
    void Decode(Workspace w, int s, int i0, int i1, int lanes);
    /// <summary>Row losses (and, with <paramref name="gradients"/>, g_z) for sample lanes [l0, l0 + lanes); returns the nonzero g_z count.</summary>
    int Loss(Workspace w, int s, int l0, int lanes, int rows, bool gradients);
    /// <summary>g_h for samples [b0, b1).</summary>
    void HiddenGradient(Workspace w, int s, int b0, int b1);
    /// <summary>
    /// Every gradient of features [i0, i1): rows of gW_out and gW_in^T (tied: their sum) and g_b, handed to
    /// the optimizer as they are finished (<paramref name="fused"/> given) or stored in the gradient buffer.
    /// Returns true if an updated parameter is not finite.
    /// </summary>
    bool Gradients(Workspace w, int s, int i0, int i1, ThreadScratch scratch, OptimizerStep? fused);
    /// <summary>The optimizer over the stored gradients of features [i0, i1). Returns true if an updated parameter is not finite.</summary>
    bool Update(Workspace w, int s, int i0, int i1, OptimizerStep scalars);
}

internal sealed unsafe class StepKernels<TVec, TWords, TLanes> : IStepKernels
    where TVec : unmanaged where TWords : unmanaged where TLanes : ILanes<TVec>, IWordLanes<TWords>
{
    public void Generate(Workspace w, int s, int b0, int b1, uint step, long firstSample, bool evaluation)
    {
        int n = w.N;
        float* xT = w.XT + (nint)s * n * w.Ldb;
        for (int b = b0; b < b1; b++)
        {
            nint row = w.SparseRow(s, b);
            int* index = w.XIndex + row;
            float* value = w.XValue + row;
            int* count = w.XCount + (nint)s * w.Batch + b;
            for (int e = 0; e < *count; e++) xT[index[e] * w.Ldb + b] = 0f;
            uint sample = evaluation ? (uint)(firstSample + b) : (uint)b;
            *count = SampleRows.Generate<TWords, TLanes>(w.Seed[s], w.Threshold[s], step, sample, evaluation, n, index, value);
            for (int e = 0; e < *count; e++) xT[index[e] * w.Ldb + b] = value[e];
        }
    }

    public void Encode(Workspace w, int s, int b0, int b1, int rows)
    {
        float* encoder = w.Block(w.Parameters, s) + w.EncoderOffset;
        float* h = w.H + (nint)s * w.Batch * w.Ldm;
        var sink = new StoreRow<TVec, TLanes>(h);
        for (int b = b0; b < b1; b++)
        {
            nint row = w.SparseRow(s, b);
            sink.Start((nint)b * w.Ldm, w.M);
            RowProduct.Combine<TVec, TLanes, StoreRow<TVec, TLanes>>(encoder, w.Ldm, w.XIndex + row, w.XValue + row,
                w.XCount[(nint)s * w.Batch + b], w.Ldm, null, ref sink);
        }
        // h^T for the decoder, whose lanes are samples; the lanes past the last sample are zeroed so junk never enters.
        float* hT = w.HT + (nint)s * w.M * w.Ldb;
        int end = b1 == rows ? Workspace.RoundUp(rows) : b1;
        for (int j = 0; j < w.M; j++)
        {
            float* column = hT + (nint)j * w.Ldb;
            for (int b = b0; b < b1; b++) column[b] = h[(nint)b * w.Ldm + j];
            for (int b = b1; b < end; b++) column[b] = 0f;
        }
    }

    public void Decode(Workspace w, int s, int i0, int i1, int lanes)
    {
        float* block = w.Block(w.Parameters, s);
        float* decoder = block + (w.Tied ? w.EncoderOffset : w.DecoderOffset) + (nint)i0 * w.Ldm;
        float* zT = w.ZT + ((nint)s * w.N + i0) * w.Ldb;
        DenseProduct.Multiply<TVec, TLanes>(decoder, w.Ldm, 1, w.HT + (nint)s * w.M * w.Ldb, w.Ldb, zT, w.Ldb, i1 - i0, lanes, w.M);
        if (!w.Bias) return;
        float* bias = block + w.BiasOffset;
        for (int i = i0; i < i1; i++)
        {
            TVec b = TLanes.Broadcast(bias[i]);
            float* z = zT + (nint)(i - i0) * w.Ldb;
            for (int l = 0; l < lanes; l += TLanes.Count) TLanes.Store(z + l, TLanes.Add(TLanes.Load(z + l), b));
        }
    }

    public int Loss(Workspace w, int s, int l0, int lanes, int rows, bool gradients)
    {
        nint activations = (nint)s * w.N * w.Ldb;
        nint sparse = w.SparseRow(s, 0);
        return LossLanes.Block<TVec, TLanes>(w.ZT + activations, w.XT + activations, w.Ldb, w.N, w.Importance + (nint)s * w.N,
            w.GradScale + (nint)s * w.N, l0, lanes, rows, w.RowLoss + (nint)s * w.Ldb,
            gradients ? w.GzT + activations : null, w.GzIndex + sparse, w.GzValue + sparse, w.GzCount + (nint)s * w.Batch);
    }

    public void HiddenGradient(Workspace w, int s, int b0, int b1)
    {
        float* block = w.Block(w.Parameters, s);
        float* decoder = block + (w.Tied ? w.EncoderOffset : w.DecoderOffset);
        var sink = new StoreRow<TVec, TLanes>(w.GH + (nint)s * w.Batch * w.Ldm);
        for (int b = b0; b < b1; b++)
        {
            nint row = w.SparseRow(s, b);
            sink.Start((nint)b * w.Ldm, w.M);
            RowProduct.Combine<TVec, TLanes, StoreRow<TVec, TLanes>>(decoder, w.Ldm, w.GzIndex + row, w.GzValue + row,
                w.GzCount[(nint)s * w.Batch + b], w.Ldm, null, ref sink);
        }
    }

    public bool Gradients(Workspace w, int s, int i0, int i1, ThreadScratch scratch, OptimizerStep? fused)
    {
        if (fused is null)
        {
            var store = new StoreRow<TVec, TLanes>(w.Block(w.Gradients, s));
            FeatureGradients(w, s, i0, i1, scratch, ref store);
            return false;
        }
        var sink = Sink(w, s, fused);
        FeatureGradients(w, s, i0, i1, scratch, ref sink);
        return sink.NonFinite != 0;
    }

    private static OptimizerSink<TVec, TLanes> Sink(Workspace w, int s, OptimizerStep scalars) =>
        new(scalars, s, w.Block(w.Parameters, s), w.First == null ? null : w.Block(w.First, s), w.Second == null ? null : w.Block(w.Second, s));

    /// <summary>
    /// Per feature i: its nonzero g_z over samples (one scan of the g_z^T row), then gW_out[i] from them and h,
    /// gW_in^T[i] from its nonzero x and g_h (tied: plus gW_out[i], one rounded add), and g_b[i]; every
    /// finished vector goes to the sink.
    /// </summary>
    private static void FeatureGradients<TSink>(Workspace w, int s, int i0, int i1, ThreadScratch scratch, ref TSink sink)
        where TSink : struct, IRowSink<TVec>
    {
        int width = TLanes.Count, samples = (w.Batch + width - 1) / width * width;
        float* h = w.H + (nint)s * w.Batch * w.Ldm;
        float* gh = w.GH + (nint)s * w.Batch * w.Ldm;
        float* gzT = w.GzT + (nint)s * w.N * w.Ldb;
        int* columnStart = w.XColumnStart + (nint)s * (w.N + 1);
        nint columns = w.SparseRow(s, 0);
        var tiedRow = new StoreRow<TVec, TLanes>(scratch.Row);
        for (int i = i0; i < i1; i++)
        {
            float* gzRow = gzT + (nint)i * w.Ldb;
            int count = 0;
            for (int b = 0; b < samples; b += width)
            {
                uint bits = TLanes.NonZeroBits(TLanes.Load(gzRow + b));
                while (bits != 0)
                {
                    int l = System.Numerics.BitOperations.TrailingZeroCount(bits);
                    scratch.ListIndex[count] = b + l;
                    scratch.ListValue[count++] = gzRow[b + l];
                    bits &= bits - 1;
                }
            }
            if (w.Bias)
            {
                float gb = 0f;
                for (int e = 0; e < count; e++) gb += scratch.ListValue[e];
                scratch.BiasGradient[i - i0] = gb;
            }
            if (w.Tied)
            {
                RowProduct.Combine<TVec, TLanes, StoreRow<TVec, TLanes>>(h, w.Ldm, scratch.ListIndex, scratch.ListValue, count, w.Ldm, null, ref tiedRow);
            }
            else
            {
                sink.Start(w.DecoderOffset + (nint)i * w.Ldm, w.M);
                RowProduct.Combine<TVec, TLanes, TSink>(h, w.Ldm, scratch.ListIndex, scratch.ListValue, count, w.Ldm, null, ref sink);
            }
            int start = columnStart[i];
            sink.Start(w.EncoderOffset + (nint)i * w.Ldm, w.M);
            RowProduct.Combine<TVec, TLanes, TSink>(gh, w.Ldm, w.XColumnRow + columns + start, w.XColumnValue + columns + start,
                columnStart[i + 1] - start, w.Ldm, w.Tied ? scratch.Row : null, ref sink);
        }
        if (w.Bias) PutBias(w, i0, i1, scratch.BiasGradient, ref sink);
    }

    /// <summary>g_b of features [i0, i1) (i0 a multiple of 16): whole vectors, zero past the last feature.</summary>
    private static void PutBias<TSink>(Workspace w, int i0, int i1, float* gradient, ref TSink sink) where TSink : struct, IRowSink<TVec>
    {
        int end = Workspace.RoundUp(i1);
        for (int i = i1; i < end; i++) gradient[i - i0] = 0f;
        sink.Start(w.BiasOffset, w.N);
        for (int i = i0; i < end; i += TLanes.Count) sink.Put(i, TLanes.Load(gradient + (i - i0)));
    }

    public bool Update(Workspace w, int s, int i0, int i1, OptimizerStep scalars)
    {
        var sink = Sink(w, s, scalars);
        float* gradient = w.Block(w.Gradients, s);
        for (int i = i0; i < i1; i++)
        {
            PutRow(gradient, w.EncoderOffset + (nint)i * w.Ldm, 0, w.Ldm, w.M, ref sink);
            if (!w.Tied) PutRow(gradient, w.DecoderOffset + (nint)i * w.Ldm, 0, w.Ldm, w.M, ref sink);
        }
        if (w.Bias) PutRow(gradient, w.BiasOffset, i0, Workspace.RoundUp(i1), w.N, ref sink);
        return sink.NonFinite != 0;
    }

    /// <summary>Lanes [from, to) of the stored gradient row at <paramref name="offset"/> through the optimizer; the first <paramref name="width"/> are real.</summary>
    private static void PutRow(float* gradient, nint offset, int from, int to, int width, ref OptimizerSink<TVec, TLanes> sink)
    {
        sink.Start(offset, width);
        for (int j = from; j < to; j += TLanes.Count) sink.Put(j, TLanes.Load(gradient + offset + j));
    }
}
