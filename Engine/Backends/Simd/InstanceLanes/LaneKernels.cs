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

    /// <summary>x of every instance of the group for rows 0 .. rows - 1 (samples firstSample ..), panels: see <see cref="LaneStream{TWords, TLanes}"/>.</summary>
    public void Generate(in LaneGroup g, float* x, int rows, long firstSample, uint step, bool evaluation, StreamScratch scratch)
    {
        new Span<float>(x, checked((int)Panels.Floats(rows, g.N, Lanes))).Clear();
        LaneStream<TWords, TLanes>.Generate(x, rows, g.N, Lanes, firstSample, step, evaluation, g.StreamKeys, g.StreamThresholds,
            new ReadOnlySpan<ulong>(g.Seeds, g.Live), scratch);
    }

    public int ScheduleLength => LaneStream<TWords, TLanes>.ScheduleLength;
    public int ThresholdLength => LaneStream<TWords, TLanes>.ThresholdLength;

    public void PrepareStream(ulong* schedule, ulong* thresholds, ReadOnlySpan<ulong> seeds, ReadOnlySpan<ulong> threshold) =>
        LaneStream<TWords, TLanes>.Prepare(schedule, thresholds, seeds, threshold);

    /// <summary>
    /// h = W_in x (serial over i, x = 0 skipped: every term added when W_in is on the grid, see <see cref="SkipZero"/>),
    /// then z = W_out h (serial over j) + b, for the first <paramref name="rows"/> rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(in LaneGroup g, int rows)
    {
        int n = g.N, m = g.M;
        // h[r][j]: W_in[j][i] (tied: the same W[j][i]) at j n + i.
        if (OnGrid(g.Encoder, (nint)n * m)) RowProducts<EveryTerm>(g.H, m, g.X, n, g.Encoder, n, 1, null, rows);
        else RowProducts<SkipZero>(g.H, m, g.X, n, g.Encoder, n, 1, null, rows);
        // z[r][i]: W_out[i][j] at i m + j, tied W[j][i] at j n + i.
        RowProducts<EveryTerm>(g.Z, n, g.H, m, g.Decoder, g.Tied ? 1 : m, g.Tied ? n : 1, g.Bias, rows);
    }

    /// <summary>
    /// output[r][c] = serial over k of term(weight[c][k], input[r][k], acc) from +0 (then + bias[c]), rows 0 .. rows - 1.
    /// Eight rows of a panel run side by side, each its own chain, sharing the weight's vector.
    /// </summary>
    /// <param name="output">A per-row tensor (<see cref="Panels"/>) of <paramref name="width"/> elements a row: rows 0 .. rows - 1 overwritten, the rest of a last panel left alone.</param>
    /// <param name="width">Output elements c per row (m for h and g_h, n for z).</param>
    /// <param name="input">A per-row tensor (<see cref="Panels"/>) of <paramref name="depth"/> elements a row, read from row 0.</param>
    /// <param name="depth">Terms k per sum: the input's elements per row.</param>
    /// <param name="weight">A group tensor (element e at weight + e Lanes), element [0][0] of the weight as read here.</param>
    /// <param name="weightOut">Elements between weight[c][k] and weight[c + 1][k]; <paramref name="weightDepth"/> between weight[c][k] and weight[c][k + 1].</param>
    /// <param name="weightDepth">1 when the sum runs along a stored row of the weight, its row length (n or m) when it runs down a column.</param>
    /// <param name="bias">null, or a group tensor of <paramref name="width"/> elements: bias[c] added to each finished sum (one rounded add).</param>
    /// <param name="rows">Rows to compute, from row 0, in panels of <see cref="Panels.Rows"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowProducts<TTerm>(float* output, int width, float* input, int depth, float* weight, nint weightOut, nint weightDepth,
        float* bias, int rows) where TTerm : ITerm
    {
        int lanes = TLanes.Count;
        nint step = weightDepth * lanes;
        for (int p = 0; p < rows; p += Panels.Rows)
        {
            int here = Math.Min(Panels.Rows, rows - p);
            float* inPanel = input + (nint)p * depth * lanes, outPanel = output + (nint)p * width * lanes;
            for (int c = 0; c < width; c++)
            {
                float* o = outPanel + (nint)c * Panels.Rows * lanes, w = weight + c * weightOut * lanes;
                float* b = bias == null ? null : bias + (nint)c * lanes;
                if (here == Panels.Rows)
                {
                    RowTile<Chains8, TTerm>(o, inPanel, w, step, depth, b);
                    continue;
                }
                int t = 0;
                if ((here & 4) != 0) { RowTile<Chains4, TTerm>(o, inPanel, w, step, depth, b); t += 4; }
                if ((here & 2) != 0) { RowTile<Chains2, TTerm>(o + t * lanes, inPanel + t * lanes, w, step, depth, b); t += 2; }
                if ((here & 1) != 0) RowTile<Chains1, TTerm>(o + t * lanes, inPanel + t * lanes, w, step, depth, b);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTile<TChains, TTerm>(float* output, float* input, float* weight, nint weightStep, int depth, float* bias)
        where TChains : IChains where TTerm : ITerm
    {
        int l = TLanes.Count;
        nint inputStep = Panels.Rows * l;
        TVec a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero;
        TVec a4 = TLanes.Zero, a5 = TLanes.Zero, a6 = TLanes.Zero, a7 = TLanes.Zero;
        for (int k = 0; k < depth; k++, input += inputStep, weight += weightStep)
        {
            TVec w = TLanes.Load(weight);
            a0 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input), a0);
            if (TChains.Count > 1) a1 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input + l), a1);
            if (TChains.Count > 2) a2 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input + 2 * l), a2);
            if (TChains.Count > 2) a3 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input + 3 * l), a3);
            if (TChains.Count > 4) a4 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input + 4 * l), a4);
            if (TChains.Count > 4) a5 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input + 5 * l), a5);
            if (TChains.Count > 4) a6 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input + 6 * l), a6);
            if (TChains.Count > 4) a7 = TTerm.Next<TVec, TLanes>(w, TLanes.Load(input + 7 * l), a7);
        }
        if (bias != null)
        {
            TVec b = TLanes.Load(bias);
            a0 = TLanes.Add(a0, b); a1 = TLanes.Add(a1, b); a2 = TLanes.Add(a2, b); a3 = TLanes.Add(a3, b);
            a4 = TLanes.Add(a4, b); a5 = TLanes.Add(a5, b); a6 = TLanes.Add(a6, b); a7 = TLanes.Add(a7, b);
        }
        TLanes.Store(output, a0);
        if (TChains.Count > 1) TLanes.Store(output + l, a1);
        if (TChains.Count > 2) { TLanes.Store(output + 2 * l, a2); TLanes.Store(output + 3 * l, a3); }
        if (TChains.Count > 4)
        {
            TLanes.Store(output + 4 * l, a4); TLanes.Store(output + 5 * l, a5);
            TLanes.Store(output + 6 * l, a6); TLanes.Store(output + 7 * l, a7);
        }
    }

    /// <summary>
    /// output[c][i] = serial over rows r of term(shared[r][c], own[r][i], acc), resumed from and stored to output, for
    /// i in 0 .. features - 1 and c in 0 .. columns - 1: the gradients' sums over the batch. Eight i run side by side;
    /// each tile of them takes every column before the next, while its rows of own are in cache.
    /// </summary>
    /// <param name="output">A group tensor (element e at output + e Lanes) at output[0][0]: each element's chain is loaded, continued and stored.</param>
    /// <param name="outputColumn">Elements between output[c][i] and output[c + 1][i]; <paramref name="outputFeature"/> between output[c][i] and output[c][i + 1].</param>
    /// <param name="outputFeature">Elements between output[c][i] and output[c][i + 1] (see <paramref name="outputColumn"/>).</param>
    /// <param name="shared">shared[r][c]: the first column's element of row 0 of a per-row tensor (<see cref="Panels"/>), h or g_h (unread by <see cref="Sum"/>).</param>
    /// <param name="sharedWidth">Elements per row of the tensor <paramref name="shared"/> points into (m).</param>
    /// <param name="columns">Columns c: 0 .. columns - 1 of <paramref name="shared"/> and of the output.</param>
    /// <param name="own">own[r][i]: the first feature's element of row 0 of a per-row tensor (<see cref="Panels"/>), g_z or x.</param>
    /// <param name="ownWidth">Elements per row of the tensor <paramref name="own"/> points into; <paramref name="sharedWidth"/> likewise.</param>
    /// <param name="features">Features i: 0 .. features - 1 of <paramref name="own"/> and of the output.</param>
    /// <param name="rows">Rows 0 .. rows - 1 of the buffers, added to every chain in ascending order.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gradients<TTerm>(float* output, nint outputColumn, nint outputFeature, float* shared, int sharedWidth, int columns,
        float* own, int ownWidth, int features, int rows) where TTerm : ITerm
    {
        int lanes = TLanes.Count;
        nint featureStep = outputFeature * lanes, columnStep = outputColumn * lanes, elementStep = (nint)Panels.Rows * lanes;
        for (int i = 0; i < features; )
        {
            int tile = features - i >= 8 ? 8 : features - i >= 4 ? 4 : features - i >= 2 ? 2 : 1;
            float* o = output + i * featureStep, v = own + i * elementStep, s = shared;
            for (int c = 0; c < columns; c++, o += columnStep, s += elementStep)
            {
                switch (tile)
                {
                    case 8: GradientTile<Chains8, TTerm>(o, featureStep, s, sharedWidth, v, ownWidth, rows); break;
                    case 4: GradientTile<Chains4, TTerm>(o, featureStep, s, sharedWidth, v, ownWidth, rows); break;
                    case 2: GradientTile<Chains2, TTerm>(o, featureStep, s, sharedWidth, v, ownWidth, rows); break;
                    default: GradientTile<Chains1, TTerm>(o, featureStep, s, sharedWidth, v, ownWidth, rows); break;
                }
            }
            i += tile;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientTile<TChains, TTerm>(float* output, nint outputStep, float* shared, int sharedWidth, float* own, int n, int rows)
        where TChains : IChains where TTerm : ITerm
    {
        int l = TLanes.Count;
        nint chain = Panels.Rows * l, sharedPanel = (nint)sharedWidth * Panels.Rows * l, ownPanel = (nint)n * Panels.Rows * l;
        TVec a0 = TLanes.Load(output);
        TVec a1 = TChains.Count > 1 ? TLanes.Load(output + outputStep) : TLanes.Zero;
        TVec a2 = TChains.Count > 2 ? TLanes.Load(output + 2 * outputStep) : TLanes.Zero;
        TVec a3 = TChains.Count > 2 ? TLanes.Load(output + 3 * outputStep) : TLanes.Zero;
        TVec a4 = TChains.Count > 4 ? TLanes.Load(output + 4 * outputStep) : TLanes.Zero;
        TVec a5 = TChains.Count > 4 ? TLanes.Load(output + 5 * outputStep) : TLanes.Zero;
        TVec a6 = TChains.Count > 4 ? TLanes.Load(output + 6 * outputStep) : TLanes.Zero;
        TVec a7 = TChains.Count > 4 ? TLanes.Load(output + 7 * outputStep) : TLanes.Zero;
        for (int p = 0; p < rows; p += Panels.Rows, shared += sharedPanel, own += ownPanel)
        {
            int here = Math.Min(Panels.Rows, rows - p);
            for (int r = 0; r < here; r++)
            {
                TVec s = TLanes.Load(shared + r * l);
                float* v = own + r * l;
                a0 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v), a0);
                if (TChains.Count > 1) a1 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v + chain), a1);
                if (TChains.Count > 2) a2 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v + 2 * chain), a2);
                if (TChains.Count > 2) a3 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v + 3 * chain), a3);
                if (TChains.Count > 4) a4 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v + 4 * chain), a4);
                if (TChains.Count > 4) a5 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v + 5 * chain), a5);
                if (TChains.Count > 4) a6 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v + 6 * chain), a6);
                if (TChains.Count > 4) a7 = TTerm.Next<TVec, TLanes>(s, TLanes.Load(v + 7 * chain), a7);
            }
        }
        TLanes.Store(output, a0);
        if (TChains.Count > 1) TLanes.Store(output + outputStep, a1);
        if (TChains.Count > 2) { TLanes.Store(output + 2 * outputStep, a2); TLanes.Store(output + 3 * outputStep, a3); }
        if (TChains.Count > 4)
        {
            TLanes.Store(output + 4 * outputStep, a4); TLanes.Store(output + 5 * outputStep, a5);
            TLanes.Store(output + 6 * outputStep, a6); TLanes.Store(output + 7 * outputStep, a7);
        }
    }

    /// <summary>
    /// Per row: the R32 sum of I (y - x)^2 into rowLoss, and g_z = z &gt; 0 ? GradScale (y - x) : 0 when <paramref name="gradient"/>.
    /// The rows of a panel run side by side, each with its R32 chains. Returns whether every g_z is on the grid (<see cref="SkipZero"/>).
    /// </summary>
    /// <remarks>
    /// With n &lt; 32 the chains n .. 31 stay +0, and the halving tree adds them as x + 0. That is x itself for every x
    /// except -0, and no chain is ever -0: each term I d d with I &gt;= 0 (<see cref="Model.Importance"/>) is +0, positive,
    /// +infinity or NaN, and fma(a, b, +0) with a b = +-0 is +0. So the tree skips the empty chains and keeps every bit.
    /// </remarks>
    public bool Loss(in LaneGroup g, int rows, bool gradient) => gradient ? Loss<Yes>(g, rows) : Loss<No>(g, rows);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Loss<TGradient>(in LaneGroup g, int rows) where TGradient : IFlag
    {
        int n = g.N, l = TLanes.Count;
        const int P = Panels.Rows;
        TVec* slot = stackalloc TVec[R32.Lanes * P]; // slot[chain k][row in panel]
        TVec negated = TLanes.Zero, magnitude = TLanes.Zero;
        for (int p = 0; p < rows; p += P)
        {
            int here = Math.Min(P, rows - p);
            nint at = (nint)p * n * l;
            float* x = g.X + at, z = g.Z + at, gz = g.Gz + at;
            for (int i = 0; i < n; i++, x += P * l, z += P * l, gz += P * l)
            {
                TVec importance = At(g.Importance, i), scale = At(g.GradScale, i);
                TVec* chain = slot + (i % R32.Lanes) * P;
                // A full panel's loop has a constant count, and a chain's first term starts from +0 without reading the slot.
                if (i < R32.Lanes)
                {
                    if (here == P) LossTerms<TGradient, Yes>(x, z, gz, chain, P, importance, scale, ref negated, ref magnitude);
                    else LossTerms<TGradient, Yes>(x, z, gz, chain, here, importance, scale, ref negated, ref magnitude);
                }
                else
                {
                    if (here == P) LossTerms<TGradient, No>(x, z, gz, chain, P, importance, scale, ref negated, ref magnitude);
                    else LossTerms<TGradient, No>(x, z, gz, chain, here, importance, scale, ref negated, ref magnitude);
                }
            }
            int used = Math.Min(n, R32.Lanes);
            for (int half = R32.Lanes / 2; half >= 1; half /= 2)
            {
                for (int k = 0; k + half < used; k++)
                    for (int r = 0; r < here; r++)
                        slot[k * P + r] = TLanes.Add(slot[k * P + r], slot[(k + half) * P + r]);
                used = Math.Min(used, half);
            }
            for (int r = 0; r < here; r++) Put(g.RowLoss, p + r, slot[r]);
        }
        return TLanes.OffGridBits(negated, magnitude) == 0;
    }

    /// <summary>Feature i's term of rows 0 .. rows - 1 of a panel into their chains (from +0 when <typeparamref name="TFirst"/>), and their g_z.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LossTerms<TGradient, TFirst>(float* x, float* z, float* gz, TVec* chain, int rows, TVec importance, TVec scale,
        ref TVec negated, ref TVec magnitude) where TGradient : IFlag where TFirst : IFlag
    {
        int l = TLanes.Count;
        for (int r = 0; r < rows; r++)
        {
            TVec zi = TLanes.Load(z + r * l);
            TVec d = TLanes.Subtract(TLanes.WherePositive(zi, zi), TLanes.Load(x + r * l));
            chain[r] = TLanes.Fma(TLanes.Multiply(importance, d), d, TFirst.On ? TLanes.Zero : chain[r]);
            if (TGradient.On)
            {
                TVec gzi = TLanes.WherePositive(zi, TLanes.Multiply(scale, d));
                TLanes.Store(gz + r * l, gzi);
                TLanes.FoldMagnitude(gzi, ref negated, ref magnitude);
            }
        }
    }

    /// <summary>
    /// g_h[r][j] = serial over i of fma(W_out[i][j], g_z[r][i]), g_z = 0 skipped (every term added when W_out and
    /// g_z are on the grid, <paramref name="gzOnGrid"/> from <see cref="Loss"/>), for rows 0 .. rows - 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void HiddenGradient(in LaneGroup g, int rows, bool gzOnGrid)
    {
        // Untied W_out[i][j] at i m + j, tied W[j][i] at j n + i.
        nint columnStep = g.Tied ? g.N : 1, depthStep = g.Tied ? 1 : g.M;
        if (gzOnGrid && OnGrid(g.Decoder, (nint)g.N * g.M)) RowProducts<EveryTerm>(g.Gh, g.M, g.Gz, g.N, g.Decoder, columnStep, depthStep, null, rows);
        else RowProducts<SkipZero>(g.Gh, g.M, g.Gz, g.N, g.Decoder, columnStep, depthStep, null, rows);
    }

    /// <summary>Whether elements 0 .. count - 1 of a group tensor are on the grid in every lane (<see cref="SkipZero"/>).</summary>
    private static bool OnGrid(float* tensor, nint count)
    {
        TVec negated = TLanes.Zero, magnitude = TLanes.Zero;
        for (nint e = 0; e < count; e++) TLanes.FoldMagnitude(At(tensor, e), ref negated, ref magnitude);
        return TLanes.OffGridBits(negated, magnitude) == 0;
    }

    /// <summary>Whether columns c0 .. c1 - 1 of rows 0 .. rows - 1 of a per-row tensor of <paramref name="width"/> are on the grid in every lane.</summary>
    private static bool OnGrid(float* tensor, int width, int c0, int c1, int rows)
    {
        int l = TLanes.Count;
        TVec negated = TLanes.Zero, magnitude = TLanes.Zero;
        for (int p = 0; p < rows; p += Panels.Rows)
        {
            int here = Math.Min(Panels.Rows, rows - p);
            for (int c = c0; c < c1; c++)
            {
                float* v = tensor + Panels.Offset(p, c, width, l);
                for (int r = 0; r < here; r++) TLanes.FoldMagnitude(TLanes.Load(v + r * l), ref negated, ref magnitude);
            }
        }
        return TLanes.OffGridBits(negated, magnitude) == 0;
    }

    /// <summary>Zeroes the gradients of <paramref name="piece"/> that <see cref="Accumulate"/> adds to.</summary>
    public void Begin(in LaneGroup g, GradientPiece piece)
    {
        int n = g.N, m = g.M, width = piece.I1 - piece.I0;
        for (int j = piece.J0; j < piece.J1; j++)
        {
            Clear(g.EncoderGradient + ((nint)j * n + piece.I0) * Lanes, width);
            for (int i = piece.I0; i < piece.I1; i++) Put(g.DecoderGradient, (nint)i * m + j, TLanes.Zero);
        }
        if (piece.Bias && g.BiasGradient != null) Clear(g.BiasGradient, n);
    }

    /// <summary>
    /// The terms of rows 0 .. rows - 1 (the buffers given hold them from row 0) in the gradients of <paramref name="piece"/>:
    /// gW_out[i][j] (g_z = 0 skipped), gW_in[j][i] (x = 0 skipped; needs g_h of these rows), g_b. Called for consecutive
    /// row blocks in ascending order, every gradient element still sums its terms in ascending r: each chain runs
    /// over the block's rows in a register, resumed from and stored to the gradient. A sum adds every term while
    /// <paramref name="dense"/> allows it and this block's factors are on the grid (<see cref="SkipZero"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Accumulate(in LaneGroup g, int rows, GradientPiece piece, bool gzOnGrid, ref DenseSums dense)
    {
        int n = g.N, m = g.M, l = Lanes, i0 = piece.I0, j0 = piece.J0, columns = piece.J1 - j0, features = piece.I1 - i0;
        nint ownAt = (nint)i0 * Panels.Rows * l, sharedAt = (nint)j0 * Panels.Rows * l;
        if (piece.Bias && g.BiasGradient != null) Gradients<Sum>(g.BiasGradient, 0, 1, g.Gz, n, 1, g.Gz, n, n, rows);
        if (columns <= 0 || features <= 0) return;
        // gW_out[i][j] at i m + j: the sum of g_z[r][i] h[r][j].
        float* decoder = g.DecoderGradient + ((nint)i0 * m + j0) * l;
        dense.Decoder &= gzOnGrid && OnGrid(g.H, m, j0, j0 + columns, rows);
        if (dense.Decoder) Gradients<EveryTerm>(decoder, 1, m, g.H + sharedAt, m, columns, g.Gz + ownAt, n, features, rows);
        else Gradients<SkipZero>(decoder, 1, m, g.H + sharedAt, m, columns, g.Gz + ownAt, n, features, rows);
        // gW_in[j][i] at j n + i: the sum of g_h[r][j] x[r][i].
        float* encoder = g.EncoderGradient + ((nint)j0 * n + i0) * l;
        dense.Encoder &= OnGrid(g.Gh, m, j0, j0 + columns, rows);
        if (dense.Encoder) Gradients<EveryTerm>(encoder, n, 1, g.Gh + sharedAt, m, columns, g.X + ownAt, n, features, rows);
        else Gradients<SkipZero>(encoder, n, 1, g.Gh + sharedAt, m, columns, g.X + ownAt, n, features, rows);
    }

    /// <summary>Tied models: gW = gW_in + gW_out^T over <paramref name="piece"/>, one rounded add per element.</summary>
    public void End(in LaneGroup g, GradientPiece piece)
    {
        if (!g.Tied) return;
        int n = g.N, m = g.M;
        for (int j = piece.J0; j < piece.J1; j++)
            for (int i = piece.I0; i < piece.I1; i++)
            {
                nint e = (nint)j * n + i;
                Put(g.EncoderGradient, e, TLanes.Add(At(g.EncoderGradient, e), At(g.DecoderGradient, (nint)i * m + j)));
            }
    }

    private static void Clear(float* tensor, nint elements)
    {
        for (nint e = 0; e < elements; e++) Put(tensor, e, TLanes.Zero);
    }

    /// <summary>The optimizer update of <paramref name="piece"/>'s parameters; returns the lanes that hold a non-finite one.</summary>
    public uint Update(in LaneGroup g, GradientPiece piece, OptimizerScalars o, float* negativeStepSize, float* decay)
    {
        int n = g.N, m = g.M, width = piece.I1 - piece.I0;
        uint nonFinite = 0;
        for (int j = piece.J0; j < piece.J1 && width > 0; j++)
            nonFinite |= Update(g, g.EncoderOffset + (nint)j * n + piece.I0, width, o, negativeStepSize, decay);
        if (!g.Tied)
            for (int i = piece.I0; i < piece.I1 && piece.J1 > piece.J0; i++)
                nonFinite |= Update(g, g.DecoderOffset + (nint)i * m + piece.J0, piece.J1 - piece.J0, o, negativeStepSize, decay);
        if (piece.Bias && g.BiasGradient != null) nonFinite |= Update(g, g.BiasOffset, n, o, negativeStepSize, decay);
        return nonFinite;
    }

    /// <summary>
    /// The optimizer update of the reference (Backends/Reference/Optimizer.cs), lane by lane, on elements first ..
    /// first + count - 1 of the parameter layout; returns the lanes that hold a non-finite parameter.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint Update(in LaneGroup g, nint first, nint count, OptimizerScalars o, float* negativeStepSize, float* decay)
    {
        TVec minusStep = TLanes.Load(negativeStepSize);
        TVec l2 = TLanes.Broadcast(o.L2);
        uint nonFinite = 0;
        if (o.Kind == OptimizerKind.Sgd)
        {
            TVec momentum = TLanes.Broadcast(o.Momentum);
            for (nint e = first; e < first + count; e++)
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
        for (nint e = first; e < first + count; e++)
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
    int ScheduleLength { get; }
    int ThresholdLength { get; }
    void PrepareStream(ulong* schedule, ulong* thresholds, ReadOnlySpan<ulong> seeds, ReadOnlySpan<ulong> threshold);
    void Generate(in LaneGroup g, float* x, int rows, long firstSample, uint step, bool evaluation, StreamScratch scratch);
    void Forward(in LaneGroup g, int rows);
    bool Loss(in LaneGroup g, int rows, bool gradient);
    void HiddenGradient(in LaneGroup g, int rows, bool gzOnGrid);
    void Begin(in LaneGroup g, GradientPiece piece);
    void Accumulate(in LaneGroup g, int rows, GradientPiece piece, bool gzOnGrid, ref DenseSums dense);
    void End(in LaneGroup g, GradientPiece piece);
    uint Update(in LaneGroup g, GradientPiece piece, OptimizerScalars o, float* negativeStepSize, float* decay);
}

/// <summary>
/// A rectangle of the gradients that one work item sums and updates: gW_in[j][i] and gW_out[i][j] for j in J0 .. J1 - 1
/// and i in I0 .. I1 - 1 (tied: W[j][i]), and g_b when <see cref="Bias"/>. Pieces that cover every element once make a step.
/// </summary>
internal readonly record struct GradientPiece(int J0, int J1, int I0, int I1, bool Bias)
{
    public static GradientPiece Whole(int n, int m) => new(0, m, 0, n, true);
}

/// <summary>
/// Whether a piece's gradient sums still add every term (<see cref="SkipZero"/>): from a step's first block of rows
/// until the first block whose factors are off the grid. A sum never returns to adding every term within the step,
/// because a sum that has skipped terms may hold -0, and only one that never did is known not to.
/// </summary>
internal struct DenseSums
{
    public bool Decoder; // gW_out
    public bool Encoder; // gW_in

    public static DenseSums Start => new() { Decoder = true, Encoder = true };
}
