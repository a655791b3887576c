using System.Numerics;
using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Data;
using ToyModels.Model;
using ToyModels.Numerics;

namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// The reference's loops (Backends/Reference) run on vectors whose lanes are instances: lane l of every
/// vector belongs to instance l of the group, so each lane performs exactly the reference's operations,
/// in the reference's order, for its own instance. Nothing crosses lanes. A term the reference skips
/// (x = 0, g_z = 0) is skipped per lane with a select, and a whole vector of zeros is skipped outright.
/// </summary>
/// <remarks>
/// A group's tensors are element-major, lane-minor: element e of the per-instance tensor is the vector
/// at <c>tensor + e * Count</c>. The loops are dense (every lane has its own sparsity), which is why this
/// layout is chosen only for models small enough that the dense work is cheap (<see cref="InstanceLanesBackend.Suits"/>).
/// </remarks>
internal sealed unsafe class LaneKernels<TVec, TWords, TLanes> : ILaneKernels
    where TVec : unmanaged where TWords : unmanaged where TLanes : ILanes<TVec>, IWordLanes<TWords>
{
    public int Lanes => TLanes.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec At(float* tensor, nint element) => TLanes.Load(tensor + element * TLanes.Count);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* tensor, nint element, TVec value) => TLanes.Store(tensor + element * TLanes.Count, value);

    /// <summary>
    /// Data stream v1 for one instance (lane <paramref name="lane"/>): the mask words of many (sample, block)
    /// counters per Philox call, then the value words of the active features, written into x, which the
    /// caller has cleared (rows x n, sample firstSample + r in row r). <paramref name="activeRow"/> and
    /// <paramref name="activeFeature"/> have room for rows x n entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Generate(float* x, int lane, int n, int rows, ulong seed, ulong threshold, uint step, long firstSample, bool evaluation,
        int* activeRow, int* activeFeature)
    {
        if (threshold == 0) return;
        int lanes = TLanes.Count, words = TLanes.WordCount;
        var (k0, k1) = Philox.Key(seed);
        int blocks = (n + 3) / 4;
        long total = (long)rows * blocks;
        ulong* q = stackalloc ulong[2 * words];
        ulong* sample = stackalloc ulong[2 * words];
        TWords stepWord = TLanes.Broadcast(step);
        TWords maskStream = TLanes.Broadcast(evaluation ? DataStream.EvalMask : DataStream.TrainMask);
        int count = 0;
        int nextBlock = 0;
        long nextRow = 0;
        for (long e0 = 0; e0 < total; e0 += 2 * words)
        {
            int here = (int)Math.Min(2 * words, total - e0);
            for (int l = 0; l < 2 * words; l++)
            {
                q[l] = (ulong)nextBlock;
                sample[l] = (ulong)(firstSample + nextRow);
                if (l < here && ++nextBlock == blocks) { nextBlock = 0; nextRow++; }
            }
            TWords a0 = TLanes.Load(q), a1 = TLanes.Load(sample), a2 = stepWord, a3 = maskStream;
            TWords b0 = TLanes.Load(q + words), b1 = TLanes.Load(sample + words), b2 = stepWord, b3 = maskStream;
            PhiloxLanes.Generate2<TWords, TLanes>(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3, k0, k1);
            ulong valid = here == 64 ? ulong.MaxValue : (1UL << here) - 1;
            count = Collect(TLanes.Below(a0, threshold) | (ulong)TLanes.Below(b0, threshold) << words, valid, 0, q, sample, firstSample, n, activeRow, activeFeature, count);
            count = Collect(TLanes.Below(a1, threshold) | (ulong)TLanes.Below(b1, threshold) << words, valid, 1, q, sample, firstSample, n, activeRow, activeFeature, count);
            count = Collect(TLanes.Below(a2, threshold) | (ulong)TLanes.Below(b2, threshold) << words, valid, 2, q, sample, firstSample, n, activeRow, activeFeature, count);
            count = Collect(TLanes.Below(a3, threshold) | (ulong)TLanes.Below(b3, threshold) << words, valid, 3, q, sample, firstSample, n, activeRow, activeFeature, count);
        }

        // Values: word 0 of philox((i, sample, step, value stream)) for each active feature i.
        TWords valueStream = TLanes.Broadcast(evaluation ? DataStream.EvalValue : DataStream.TrainValue);
        for (int e0 = 0; e0 < count; e0 += 2 * words)
        {
            int here = Math.Min(2 * words, count - e0);
            for (int l = 0; l < 2 * words; l++)
            {
                int entry = e0 + Math.Min(l, here - 1);
                q[l] = (ulong)activeFeature[entry];
                sample[l] = (ulong)(firstSample + activeRow[entry]);
            }
            TWords a0 = TLanes.Load(q), a1 = TLanes.Load(sample), a2 = stepWord, a3 = valueStream;
            TWords b0 = TLanes.Load(q + words), b1 = TLanes.Load(sample + words), b2 = stepWord, b3 = valueStream;
            PhiloxLanes.Generate2<TWords, TLanes>(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3, k0, k1);
            for (int l = 0; l < here; l++)
            {
                uint word = l < words ? TLanes.Word(a0, l) : TLanes.Word(b0, l - words);
                x[((nint)activeRow[e0 + l] * n + activeFeature[e0 + l]) * lanes + lane] = DataStream.Value(word);
            }
        }
    }

    /// <summary>Adds feature 4q + k of each counter whose bit is set (and whose feature exists), with its row.</summary>
    private static int Collect(ulong bits, ulong valid, int k, ulong* q, ulong* sample, long firstSample, int n, int* activeRow, int* activeFeature, int count)
    {
        bits &= valid;
        while (bits != 0)
        {
            int l = BitOperations.TrailingZeroCount(bits);
            bits &= bits - 1;
            int feature = 4 * (int)q[l] + k;
            if (feature >= n) continue;
            activeRow[count] = (int)((long)sample[l] - firstSample);
            activeFeature[count++] = feature;
        }
        return count;
    }

    /// <summary>h = W_in x (serial over i, x = 0 skipped), then z = W_out h (serial over j) + b, for the first <paramref name="rows"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(in LaneGroup g, int rows)
    {
        int n = g.N, m = g.M;
        SkippingProduct(g.H, g.X, g.Encoder, n, 1, rows, m, n);
        // W_out[i][j]: untied [n][m], tied W[j][i].
        nint si = g.Tied ? 1 : m, sj = g.Tied ? n : 1;
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            float* h0 = g.H + (nint)r * m * Lanes, h1 = h0 + (nint)m * Lanes, h2 = h1 + (nint)m * Lanes, h3 = h2 + (nint)m * Lanes;
            float* z0 = g.Z + (nint)r * n * Lanes;
            for (int i = 0; i < n; i++)
            {
                TVec a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero;
                for (int j = 0; j < m; j++)
                {
                    TVec w = At(g.Decoder, i * si + j * sj);
                    a0 = TLanes.Fma(w, At(h0, j), a0);
                    a1 = TLanes.Fma(w, At(h1, j), a1);
                    a2 = TLanes.Fma(w, At(h2, j), a2);
                    a3 = TLanes.Fma(w, At(h3, j), a3);
                }
                if (g.Bias != null)
                {
                    TVec b = At(g.Bias, i);
                    a0 = TLanes.Add(a0, b); a1 = TLanes.Add(a1, b); a2 = TLanes.Add(a2, b); a3 = TLanes.Add(a3, b);
                }
                Put(z0, i, a0); Put(z0, n + i, a1); Put(z0, 2 * n + i, a2); Put(z0, 3 * n + i, a3);
            }
        }
        for (; r < rows; r++)
        {
            float* h = g.H + (nint)r * m * Lanes, z = g.Z + (nint)r * n * Lanes;
            for (int i = 0; i < n; i++)
            {
                TVec acc = TLanes.Zero;
                for (int j = 0; j < m; j++) acc = TLanes.Fma(At(g.Decoder, i * si + j * sj), At(h, j), acc);
                Put(z, i, g.Bias == null ? acc : TLanes.Add(acc, At(g.Bias, i)));
            }
        }
    }

    /// <summary>
    /// output[r][j] = serial over k of (input[r][k] != 0 ? fma(weight[j sj + k sk], input[r][k], acc) : acc), acc from +0:
    /// the encoder (input x) and g_h (input g_z). Four rows at a time, so four chains are in flight in registers.
    /// </summary>
    private static void SkippingProduct(float* output, float* input, float* weight, nint sj, nint sk, int rows, int width, int depth)
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            float* i0 = input + (nint)r * depth * TLanes.Count, i1 = i0 + (nint)depth * TLanes.Count;
            float* i2 = i1 + (nint)depth * TLanes.Count, i3 = i2 + (nint)depth * TLanes.Count;
            float* o0 = output + (nint)r * width * TLanes.Count;
            for (int j = 0; j < width; j++)
            {
                TVec a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero;
                for (int k = 0; k < depth; k++)
                {
                    TVec w = At(weight, j * sj + k * sk);
                    TVec v0 = At(i0, k), v1 = At(i1, k), v2 = At(i2, k), v3 = At(i3, k);
                    a0 = TLanes.WhereNonZero(v0, TLanes.Fma(w, v0, a0), a0);
                    a1 = TLanes.WhereNonZero(v1, TLanes.Fma(w, v1, a1), a1);
                    a2 = TLanes.WhereNonZero(v2, TLanes.Fma(w, v2, a2), a2);
                    a3 = TLanes.WhereNonZero(v3, TLanes.Fma(w, v3, a3), a3);
                }
                Put(o0, j, a0); Put(o0, width + j, a1); Put(o0, 2 * width + j, a2); Put(o0, 3 * width + j, a3);
            }
        }
        for (; r < rows; r++)
        {
            float* v = input + (nint)r * depth * TLanes.Count, o = output + (nint)r * width * TLanes.Count;
            for (int j = 0; j < width; j++)
            {
                TVec acc = TLanes.Zero;
                for (int k = 0; k < depth; k++)
                {
                    TVec x = At(v, k);
                    acc = TLanes.WhereNonZero(x, TLanes.Fma(At(weight, j * sj + k * sk), x, acc), acc);
                }
                Put(o, j, acc);
            }
        }
    }

    /// <summary>Per row: the R32 sum of I (y - x)^2 into rowLoss, and g_z = z &gt; 0 ? GradScale (y - x) : 0 when <paramref name="gradient"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Loss(in LaneGroup g, int rows, bool gradient)
    {
        int n = g.N;
        TVec* lane = stackalloc TVec[R32.Lanes];
        for (int r = 0; r < rows; r++)
        {
            float* x = g.X + (nint)r * n * Lanes, z = g.Z + (nint)r * n * Lanes, gz = g.Gz + (nint)r * n * Lanes;
            for (int k = 0; k < R32.Lanes; k++) lane[k] = TLanes.Zero;
            for (int i = 0; i < n; i++)
            {
                TVec zi = At(z, i);
                TVec d = TLanes.Subtract(TLanes.WherePositive(zi, zi), At(x, i));
                lane[i % R32.Lanes] = TLanes.Fma(TLanes.Multiply(At(g.Importance, i), d), d, lane[i % R32.Lanes]);
                if (gradient) Put(gz, i, TLanes.WherePositive(zi, TLanes.Multiply(At(g.GradScale, i), d)));
            }
            for (int half = R32.Lanes / 2; half >= 1; half /= 2)
                for (int k = 0; k < half; k++)
                    lane[k] = TLanes.Add(lane[k], lane[k + half]);
            Put(g.RowLoss, r, lane[0]);
        }
    }

    /// <summary>Zeroes the gradients that <see cref="AccumulateRows"/> adds to.</summary>
    public void BeginBackward(in LaneGroup g)
    {
        Clear(g.DecoderGradient, (nint)g.N * g.M);
        Clear(g.EncoderGradient, (nint)g.M * g.N);
        if (g.BiasGradient != null) Clear(g.BiasGradient, g.N);
    }

    /// <summary>
    /// The gradients' terms of <paramref name="rows"/> rows (the group's buffers hold them from row 0): g_b,
    /// gW_out (g_z = 0 skipped), g_h of these rows (g_z = 0 skipped), gW_in (x = 0 skipped). Called for
    /// consecutive row blocks in ascending order, every gradient element still sums its terms in ascending r:
    /// each chain runs over the block's rows in a register, resumed from and stored to the gradient.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AccumulateRows(in LaneGroup g, int rows)
    {
        int n = g.N, m = g.M;
        nint rowN = (nint)n * Lanes, rowM = (nint)m * Lanes;
        if (g.BiasGradient != null)
            for (int i = 0; i < n; i++)
            {
                TVec acc = At(g.BiasGradient, i);
                for (int r = 0; r < rows; r++) acc = TLanes.Add(acc, At(g.Gz + r * rowN, i));
                Put(g.BiasGradient, i, acc);
            }

        // gW_out[i][j]: the factor g_z[r][i] is shared by the four chains j .. j + 3.
        for (int i = 0; i < n; i++)
        {
            float* gw = g.DecoderGradient + (nint)i * rowM;
            int j = 0;
            for (; j + 4 <= m; j += 4)
            {
                TVec a0 = At(gw, j), a1 = At(gw, j + 1), a2 = At(gw, j + 2), a3 = At(gw, j + 3);
                for (int r = 0; r < rows; r++)
                {
                    TVec gi = At(g.Gz + r * rowN, i);
                    float* h = g.H + r * rowM;
                    a0 = TLanes.WhereNonZero(gi, TLanes.Fma(gi, At(h, j), a0), a0);
                    a1 = TLanes.WhereNonZero(gi, TLanes.Fma(gi, At(h, j + 1), a1), a1);
                    a2 = TLanes.WhereNonZero(gi, TLanes.Fma(gi, At(h, j + 2), a2), a2);
                    a3 = TLanes.WhereNonZero(gi, TLanes.Fma(gi, At(h, j + 3), a3), a3);
                }
                Put(gw, j, a0); Put(gw, j + 1, a1); Put(gw, j + 2, a2); Put(gw, j + 3, a3);
            }
            for (; j < m; j++)
            {
                TVec acc = At(gw, j);
                for (int r = 0; r < rows; r++)
                {
                    TVec gi = At(g.Gz + r * rowN, i);
                    acc = TLanes.WhereNonZero(gi, TLanes.Fma(gi, At(g.H + r * rowM, j), acc), acc);
                }
                Put(gw, j, acc);
            }
        }

        // g_h[r][j] = serial over i of fma(W_out[i][j], g_z[r][i]): untied W_out[i][j] at i m + j, tied W[j][i] at j n + i.
        SkippingProduct(g.Gh, g.Gz, g.Decoder, g.Tied ? n : 1, g.Tied ? 1 : m, rows, m, n);

        // gW_in[j][i]: the factor x[r][i] differs per chain i .. i + 3, the other factor g_h[r][j] is shared.
        for (int j = 0; j < m; j++)
        {
            float* gw = g.EncoderGradient + (nint)j * rowN;
            int i = 0;
            for (; i + 4 <= n; i += 4)
            {
                TVec a0 = At(gw, i), a1 = At(gw, i + 1), a2 = At(gw, i + 2), a3 = At(gw, i + 3);
                for (int r = 0; r < rows; r++)
                {
                    TVec gh = At(g.Gh + r * rowM, j);
                    float* x = g.X + r * rowN;
                    TVec x0 = At(x, i), x1 = At(x, i + 1), x2 = At(x, i + 2), x3 = At(x, i + 3);
                    a0 = TLanes.WhereNonZero(x0, TLanes.Fma(gh, x0, a0), a0);
                    a1 = TLanes.WhereNonZero(x1, TLanes.Fma(gh, x1, a1), a1);
                    a2 = TLanes.WhereNonZero(x2, TLanes.Fma(gh, x2, a2), a2);
                    a3 = TLanes.WhereNonZero(x3, TLanes.Fma(gh, x3, a3), a3);
                }
                Put(gw, i, a0); Put(gw, i + 1, a1); Put(gw, i + 2, a2); Put(gw, i + 3, a3);
            }
            for (; i < n; i++)
            {
                TVec acc = At(gw, i);
                for (int r = 0; r < rows; r++)
                {
                    TVec xi = At(g.X + r * rowN, i);
                    acc = TLanes.WhereNonZero(xi, TLanes.Fma(At(g.Gh + r * rowM, j), xi, acc), acc);
                }
                Put(gw, i, acc);
            }
        }
    }

    /// <summary>Tied models: gW = gW_in + gW_out^T, one rounded add per element.</summary>
    public void EndBackward(in LaneGroup g)
    {
        if (!g.Tied) return;
        int n = g.N, m = g.M;
        for (int j = 0; j < m; j++)
            for (int i = 0; i < n; i++)
            {
                nint e = (nint)j * n + i;
                Put(g.EncoderGradient, e, TLanes.Add(At(g.EncoderGradient, e), At(g.DecoderGradient, (nint)i * m + j)));
            }
    }

    private static void Clear(float* tensor, nint elements)
    {
        for (nint e = 0; e < elements; e++) Put(tensor, e, TLanes.Zero);
    }

    /// <summary>The optimizer update of the reference (Backends/Reference/Optimizer.cs), lane by lane; returns the lanes that hold a non-finite parameter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public uint Update(in LaneGroup g, OptimizerStep o, float* negativeStepSize, float* decay)
    {
        nint length = g.PerInstance;
        TVec minusStep = TLanes.Load(negativeStepSize);
        TVec l2 = TLanes.Broadcast(o.L2);
        uint nonFinite = 0;
        if (o.Kind == OptimizerKind.Sgd)
        {
            TVec momentum = TLanes.Broadcast(o.Momentum);
            for (nint e = 0; e < length; e++)
            {
                TVec p = At(g.Parameters, e), grad = At(g.Gradients, e);
                if (o.L2 != 0f) grad = TLanes.Fma(l2, p, grad);
                if (o.Momentum != 0f)
                {
                    grad = TLanes.Fma(momentum, At(g.First, e), grad);
                    Put(g.First, e, grad);
                }
                p = TLanes.Fma(minusStep, grad, p);
                Put(g.Parameters, e, p);
                nonFinite |= TLanes.NonFiniteBits(p);
            }
            return nonFinite;
        }

        TVec beta1 = TLanes.Broadcast(o.Beta1), beta2 = TLanes.Broadcast(o.Beta2);
        TVec oneMinusBeta1 = TLanes.Broadcast(o.OneMinusBeta1), oneMinusBeta2 = TLanes.Broadcast(o.OneMinusBeta2);
        TVec correction = TLanes.Broadcast(o.BiasCorrection2Sqrt), eps = TLanes.Broadcast(o.Eps);
        TVec decayFactor = TLanes.Load(decay);
        bool decoupled = o.Kind == OptimizerKind.AdamW;
        for (nint e = 0; e < length; e++)
        {
            TVec p = At(g.Parameters, e), grad = At(g.Gradients, e);
            if (o.L2 != 0f) grad = TLanes.Fma(l2, p, grad);
            if (decoupled) p = TLanes.Multiply(p, decayFactor);
            TVec mean = TLanes.Fma(beta1, At(g.First, e), TLanes.Multiply(oneMinusBeta1, grad));
            TVec variance = TLanes.Fma(beta2, At(g.Second, e), TLanes.Multiply(oneMinusBeta2, TLanes.Multiply(grad, grad)));
            Put(g.First, e, mean);
            Put(g.Second, e, variance);
            TVec denominator = TLanes.Add(TLanes.Divide(TLanes.Sqrt(variance), correction), eps);
            p = TLanes.Fma(minusStep, TLanes.Divide(mean, denominator), p);
            Put(g.Parameters, e, p);
            nonFinite |= TLanes.NonFiniteBits(p);
        }
        return nonFinite;
    }
}

/// <summary>The lane kernels at one vector width.</summary>
internal unsafe interface ILaneKernels
{
    int Lanes { get; }
    void Generate(float* x, int lane, int n, int rows, ulong seed, ulong threshold, uint step, long firstSample, bool evaluation,
        int* activeRow, int* activeFeature);
    void Forward(in LaneGroup g, int rows);
    void Loss(in LaneGroup g, int rows, bool gradient);
    void BeginBackward(in LaneGroup g);
    void AccumulateRows(in LaneGroup g, int rows);
    void EndBackward(in LaneGroup g);
    uint Update(in LaneGroup g, OptimizerStep o, float* negativeStepSize, float* decay);
}
