using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Phases;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>What the update of a block of parameters saw: a non-finite result, and the smallest nonzero |W_out|.</summary>
internal readonly record struct UpdateResult(bool NonFinite, float DecoderSmallest);

/// <summary>The work items of a training step, one method per phase; implemented once, generic over the lanes.</summary>
internal unsafe interface IStepKernels
{
    /// <summary>The samples of panel p (those below <paramref name="rows"/>) of instance s: x as sparse rows and in the dense x^T panel.</summary>
    void Generate(Workspace w, int s, int p, int rows, uint step, long firstSample, bool evaluation);
    /// <summary>
    /// h for the samples of panel p and the h^T panel (lanes past <paramref name="rows"/> zeroed), or the panel's kept
    /// samples' columns of h^T when the instance decodes only those (Phases.EmptySamples). Returns the
    /// smallest nonzero finite |h| and whether some h is not finite.
    /// </summary>
    (float Smallest, bool NonFinite) Encode(Workspace w, int s, int p, int rows, ThreadScratch scratch);
    /// <summary>z^T for features [i0, i1) and samples [l0, l1) (multiples of 64).</summary>
    void Decode(Workspace w, int s, int i0, int i1, int l0, int l1, ThreadScratch scratch);
    /// <summary>Row losses (and, with <paramref name="gradients"/>, g_z) for the samples of panel p: the nonzero count and smallest nonzero |g_z|.</summary>
    (int Nonzero, float Smallest) Loss(Workspace w, int s, int p, int rows, bool gradients);
    /// <summary>g_h for the samples of panel p from each sample's nonzero g_z.</summary>
    void HiddenGradientSparse(Workspace w, int s, int p, ThreadScratch scratch);
    /// <summary>
    /// <see cref="Loss"/> with gradients and <see cref="HiddenGradientSparse"/> for panel p of a training batch in one
    /// walk (the same bits as the two one after the other). g_z goes to the panel's lists (Workspace.GzEntries), not
    /// to the g_z^T panel.
    /// </summary>
    (int Nonzero, float Smallest) LossAndHiddenGradient(Workspace w, int s, int p, ThreadScratch scratch);
    /// <summary>
    /// g_h^T for hidden units [j0, j1) and samples [l0, l1) (multiples of 64) as one dense product over every
    /// feature (valid when it gives the sparse bits, see <see cref="ExactDense"/>).
    /// </summary>
    void HiddenGradientDense(Workspace w, int s, int j0, int j1, int l0, int l1, ThreadScratch scratch);
    /// <summary>g_h of the samples of panel p from the g_h^T panel.</summary>
    void TransposeHiddenGradient(Workspace w, int s, int p);
    /// <summary>
    /// Every gradient of features [i0, i1): rows of gW_out (dense or sparse) and gW_in^T (tied: their sum) and
    /// g_b, handed to the optimizer as they are finished (<paramref name="fused"/> given) or stored in the gradient buffer.
    /// With <paramref name="skipEmpty"/> (<see cref="Phases.BackwardPlan.SkipsEmptySamples"/>) the sparse gW_out walk
    /// leaves out the samples with no active feature, whose h row is +0.
    /// </summary>
    UpdateResult Gradients(Workspace w, int s, int i0, int i1, ThreadScratch scratch, OptimizerScalars? fused, DecoderGradient path, bool skipEmpty);
    /// <summary>The optimizer over the stored gradients of features [i0, i1).</summary>
    UpdateResult Update(Workspace w, int s, int i0, int i1, OptimizerScalars scalars);
}

internal sealed unsafe class StepKernels<TVec, TWords, TLanes> : IStepKernels
    where TVec : unmanaged where TWords : unmanaged where TLanes : ILanes<TVec>, IWordLanes<TWords>
{
    private const int Tile = Workspace.Tile;

    /// <summary>A row of g_z with at most this many nonzero lanes is listed by its mask's bits rather than vector by vector.</summary>
    private const int SparseRowLanes = 8;

    /// <summary>A block of the fused walk with at most 1 / this of its g_z nonzero builds its sample lists from the masks.</summary>
    private const int SparseBlockShare = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Generate(Workspace w, int s, int p, int rows, uint step, long firstSample, bool evaluation)
    {
        float* xT = w.FeaturePanelOf(w.XT, s, p);
        int b0 = p * Tile, live = Math.Min(b0 + Tile, rows) - b0;
        SparseEntry* panelRows = w.XRows + w.SparseRow(s, b0);
        int* counts = w.XCountOf(s) + b0;
        long old = 0, fresh = 0;
        for (int l = 0; l < live; l++) old += counts[l];
        // The old entries go before their rows are overwritten, unless the whole panel is rewritten after.
        bool rewrite = InputPanel.Rewrites(old, w.N);
        if (!rewrite) InputPanel.Clear(xT, panelRows, w.RowCapacity, counts, live);
        for (int l = 0; l < live; l++)
        {
            uint sample = evaluation ? (uint)(firstSample + b0 + l) : (uint)(b0 + l);
            counts[l] = SampleRows.Generate<TWords, TLanes>(w.Seed[s], w.Threshold[s], step, sample, evaluation, w.N, panelRows + l * w.RowCapacity);
            fresh += counts[l];
        }
        if (rewrite || InputPanel.Rewrites(fresh, w.N)) InputPanel.Rebuild(xT, w.N, panelRows, w.RowCapacity, counts, live);
        else InputPanel.Scatter(xT, panelRows, w.RowCapacity, counts, live);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (float Smallest, bool NonFinite) Encode(Workspace w, int s, int p, int rows, ThreadScratch scratch)
    {
        float* encoder = w.Block(w.Parameters, s) + w.EncoderOffset;
        float* h = w.Tiles(w.H, s);
        var sink = new StoreRow<TVec, TLanes>(h, w.HiddenTile);
        TVec smallest = TLanes.Broadcast(float.PositiveInfinity);
        uint bad = 0;
        int b0 = p * Tile, b1 = Math.Min(b0 + Tile, rows);
        SparseEntry* xRows = w.XRows;
        int* counts = w.XCountOf(s);
        int entries = 0;
        for (int b = b0; b < b1; b++) entries += counts[b];
        if ((long)entries * Blocking.HiddenFeatures >= (long)Blocking.EncoderBlocks * w.N * (b1 - b0))
            EncodeBlocks(w, encoder, h, xRows + w.SparseRow(s, b0), counts + b0, b1 - b0, b0);
        else if (entries >= Blocking.PiecesOutermost * (b1 - b0))
            // Piece by piece of lanes, each over the panel's samples: one piece of W_in^T (n x 64 lanes, 128 KiB at
            // n 512) stays in L2 while the 64 samples' rows pass, where whole rows (2 KiB each) would stream from L3.
            RowProduct.PiecesOutermost<TVec, TLanes, StoreRow<TVec, TLanes>>(encoder, w.Ldm, Tile, xRows + w.SparseRow(s, b0), w.RowCapacity,
                counts + b0, b1 - b0, w.RowLanes, w.Ldm, w.M, (nint)b0 * Tile, Tile, ref sink);
        else
            for (int b = b0; b < b1; b++)
            {
                sink.Start((nint)b * Tile, w.M);
                RowProduct.Combine<TVec, TLanes, StoreRow<TVec, TLanes>>(encoder, w.Ldm, Tile, xRows + w.SparseRow(s, b), counts[b], w.RowLanes, w.Ldm, null, ref sink);
            }
        for (int b = b0; b < b1; b++)
        {
            // An empty sample's h is +0 throughout, which neither statistic counts.
            if (counts[b] == 0) continue;
            for (int j = 0; j < w.M; j += TLanes.Count)
            {
                TVec v = TLanes.Load(h + (j >> 6) * w.HiddenTile + (nint)b * Tile + (j & 63));
                if (w.M - j < TLanes.Count) v = TLanes.KeepFirst(v, w.M - j);
                smallest = TLanes.MinMagnitude(smallest, v);
                bad |= TLanes.NonFiniteBits(v);
            }
        }
        if (w.Kept[s] > 0) KeptHiddenColumns(w, s, p, rows, h, scratch.GradientBlock);
        else
        {
            // The h^T panel for the decoder, whose lanes are samples: 64 x 64 blocks of h transposed into its strips;
            // lanes past the last sample are zeroed so junk never enters.
            float* panel = w.HiddenPanelOf(w.HT, s, p);
            int live = b1 - b0, end = b1 == rows ? Tile : live;
            for (int j0 = 0; j0 < w.M; j0 += Tile)
                IntoStrips(h + (j0 >> 6) * w.HiddenTile + (nint)b0 * Tile, panel, 0, live, j0, Math.Min(Tile, w.M - j0), w.M);
            if (end > live) ClearStrips(panel, live, end, w.M);
        }
        return (TLanes.Smallest(smallest), bad != 0);
    }

    /// <summary>
    /// The h^T columns of panel p's kept samples (<see cref="EmptySamples"/>), at their places among the kept:
    /// a run of columns that may straddle two panels of h^T, which other panels' items fill around it. The panel
    /// of the last samples also zeroes the lanes past the last kept column.
    /// </summary>
    private static void KeptHiddenColumns(Workspace w, int s, int p, int rows, float* h, float* rowsBlock)
    {
        int* samples = stackalloc int[Tile];
        int count = EmptySamples.KeptRows(w, s, p, rows, samples), first = w.KeptStartOf(s)[p];
        int head = Math.Min(count, Tile - first % Tile);
        float* panel = w.HiddenPanelOf(w.HT, s, first / Tile), next = w.HiddenPanelOf(w.HT, s, first / Tile + 1);
        for (int j0 = 0; j0 < w.M; j0 += Tile)
        {
            // The kept rows of this tile of h, gathered into one 64 x 64 block, then transposed in one or two runs.
            float* tile = h + (j0 >> 6) * w.HiddenTile;
            for (int r = 0; r < count; r++)
                new ReadOnlySpan<float>(tile + (nint)samples[r] * Tile, Tile).CopyTo(new Span<float>(rowsBlock + r * Tile, Tile));
            int columns = Math.Min(Tile, w.M - j0);
            IntoStrips(rowsBlock, panel, first % Tile, head, j0, columns, w.M);
            if (count > head) IntoStrips(rowsBlock + head * Tile, next, 0, count - head, j0, columns, w.M);
        }
        int kept = w.Kept[s], end = Workspace.RoundUp(kept, Tile);
        if (p == StepState.Panels(rows) - 1 && end > kept) ClearStrips(w.HiddenPanelOf(w.HT, s, kept / Tile), kept % Tile, Tile, w.M);
    }

    /// <summary>
    /// Rows [0, <paramref name="count"/>) of <paramref name="source"/> (64 floats apart, the first <paramref name="columns"/>
    /// of each: units j0 onward) transposed into lanes [firstLane, firstLane + count) of an h^T panel of
    /// <paramref name="m"/> units, strip by strip (<see cref="Workspace"/>: unit j, lane l at (l / S) S m + S j + l % S).
    /// </summary>
    private static void IntoStrips(float* source, float* panel, int firstLane, int count, int j0, int columns, int m)
    {
        int strip = DenseProduct.TileLanes(TLanes.Count);
        for (int l = firstLane, last = firstLane + count; l < last;)
        {
            int q = l / strip, end = Math.Min(last, (q + 1) * strip);
            Squares.Transpose(source + (nint)(l - firstLane) * Tile, Tile, panel + (nint)q * strip * m + (nint)j0 * strip + l % strip, strip, end - l, columns);
            l = end;
        }
    }

    /// <summary>Lanes [from, to) of every unit of an h^T panel of <paramref name="m"/> units, zeroed strip by strip.</summary>
    private static void ClearStrips(float* panel, int from, int to, int m)
    {
        int strip = DenseProduct.TileLanes(TLanes.Count);
        for (int l = from; l < to;)
        {
            int q = l / strip, end = Math.Min(to, (q + 1) * strip);
            float* lanes = panel + (nint)q * strip * m + l % strip;
            for (int j = 0; j < m; j++) new Span<float>(lanes + (nint)j * strip, end - l).Clear();
            l = end;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Decode(Workspace w, int s, int i0, int i1, int l0, int l1, ThreadScratch scratch)
    {
        float* block = w.Block(w.Parameters, s);
        float* decoder = block + (w.Tied ? w.EncoderOffset : w.DecoderOffset) + (nint)i0 * w.Ldm;
        float* zT = w.FeaturePanelOf(w.ZT, s, l0 / Tile) + (nint)i0 * Tile;
        // z = (the chain over j) + b, the bias added as each finished sum is stored rather than in a pass of its own.
        int strip = DenseProduct.TileLanes(TLanes.Count);
        DenseProduct.Multiply<TVec, TLanes>(Operand.Strided(decoder, w.Ldm, 1), w.HiddenPanelOf(w.HT, s, l0 / Tile), w.HiddenPanel, strip, (nint)strip * w.M,
            zT, w.FeaturePanel, Tile, i1 - i0, l1 - l0, w.M, scratch.Pack, w.Bias ? block + w.BiasOffset + i0 : null);
    }

    public (int Nonzero, float Smallest) Loss(Workspace w, int s, int p, int rows, bool gradients)
    {
        int first = p * Tile;
        return LossLanes.Panel<TVec, TLanes>(w.FeaturePanelOf(w.ZT, s, p), w.FeaturePanelOf(w.XT, s, p),
            gradients ? w.FeaturePanelOf(w.GzT, s, p) : null, w.N, w.Importance + (nint)s * w.N, w.GradScale + (nint)s * w.N,
            Math.Min(Tile, rows - first), w.RowLoss + (nint)s * w.Ldb + first);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void HiddenGradientSparse(Workspace w, int s, int p, ThreadScratch scratch)
    {
        float* panel = w.FeaturePanelOf(w.GzT, s, p);
        ClearHiddenGradient(w, s, p);
        for (int i0 = 0; i0 < w.N; i0 += Blocking.HiddenFeatures)
            HiddenBlock(w, s, p, panel, i0, Math.Min(i0 + Blocking.HiddenFeatures, w.N), scratch);
    }

    /// <summary>
    /// h of a panel's samples from many entries a sample: blocks of <see cref="Blocking.HiddenFeatures"/> features,
    /// the block's rows of W_in^T under one piece of lanes (24 KiB) in L1 while the panel's samples pass, where
    /// a piece of every row (128 KiB at n 512) is read from L2. Each sample's chains start at +0 in its h row and are
    /// stored there between blocks and resumed, in ascending feature order: the bits of one pass.
    /// </summary>
    private static void EncodeBlocks(Workspace w, float* encoder, float* h, SparseEntry* panelRows, int* counts, int live, int b0)
    {
        for (int t = 0; t < w.HiddenTiles; t++) new Span<float>(h + t * w.HiddenTile + (nint)b0 * Tile, live * Tile).Clear();
        SparseEntry** rows = stackalloc SparseEntry*[live];
        for (int l = 0; l < live; l++) rows[l] = panelRows + (nint)l * w.RowCapacity;
        BlockWalk(w, encoder, w.Ldm, Tile, rows, counts, live, Blocking.HiddenFeatures, h + (nint)b0 * Tile, Tile, w.HiddenTile);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (int Nonzero, float Smallest) LossAndHiddenGradient(Workspace w, int s, int p, ThreadScratch scratch)
    {
        // The loss walk and the sparse g_h walk go block by block together, so each block's g_z is listed while in L1.
        int first = p * Tile, live = Math.Min(Tile, w.Batch - first);
        float* z = w.FeaturePanelOf(w.ZT, s, p);
        float* importance = w.Importance + (nint)s * w.N, gradScale = w.GradScale + (nint)s * w.N;
        TVec* acc = stackalloc TVec[LossLanes.Accumulators(TLanes.Count)];
        LossLanes.Start<TVec, TLanes>(acc);
        var gradient = new GradientSummary<TVec, TLanes>();
        ClearHiddenGradient(w, s, p);
        SparseEntry* list = w.GzListOf(s, p);
        int* start = w.GzStartOf(s, p);
        int listed = 0;
        // x comes from its sparse rows (about p n per sample) rather than the mostly zero x^T panel: each block's
        // entries are scattered into the thread's zeroed x block and cleared after it.
        int* cursor = stackalloc int[Tile];
        for (int l = 0; l < live; l++) cursor[l] = 0;
        // Per feature of the block, its nonzero g_z lanes: late in training g_z is mostly zero, and the lists are
        // then built by walking these bits rather than every element.
        ulong* masks = stackalloc ulong[Blocking.HiddenFeatures];
        for (int i0 = 0; i0 < w.N; i0 += Blocking.HiddenFeatures)
        {
            int i1 = Math.Min(i0 + Blocking.HiddenFeatures, w.N);
            // The block's g_z and x rows live in the thread's block buffers, addressed as if they were the panels.
            float* block = scratch.GradientBlock - (nint)i0 * Tile, x = scratch.InputBlock - (nint)i0 * Tile;
            ScatterInput(w, s, first, live, i1, cursor, x, clear: false);
            int before = gradient.Nonzero;
            LossLanes.Rows<TVec, TLanes>(acc, z, x, block, i0, i1, importance, gradScale, live, ref gradient, masks);
            ScatterInput(w, s, first, live, i1, cursor, x, clear: true);
            HiddenBlock(w, s, p, block, i0, i1, scratch, masks, gradient.Nonzero - before);
            for (int i = i0; i < i1; i++)
            {
                start[i] = listed;
                float* row = block + (nint)i * Tile;
                ulong mask = masks[i - i0];
                if (BitOperations.PopCount(mask) <= SparseRowLanes)
                {
                    listed += SparseAppend.Bits(row, mask, first, list + listed);
                    continue;
                }
                for (int v = 0; v < Tile; v += TLanes.Count)
                    listed += TLanes.AppendNonZero(TLanes.Load(row + v), first + v, list + listed);
            }
        }
        start[w.N] = listed;
        LossLanes.Finish<TVec, TLanes>(acc, w.RowLoss + (nint)s * w.Ldb + first);
        return (gradient.Nonzero, TLanes.Smallest(gradient.Smallest));
    }

    /// <summary>
    /// Writes (or with <paramref name="clear"/>, zeroes again and moves past) the entries of x below feature
    /// <paramref name="i1"/> from each of the panel's samples' sparse rows, starting at the sample's cursor.
    /// </summary>
    private static void ScatterInput(Workspace w, int s, int first, int live, int i1, int* cursor, float* x, bool clear)
    {
        for (int l = 0; l < live; l++)
        {
            SparseEntry* row = w.XRows + w.SparseRow(s, first + l);
            int count = w.XCountOf(s)[first + l], e = cursor[l];
            for (; e < count && row[e].Index < i1; e++) x[(nint)row[e].Index * Tile + l] = clear ? 0f : row[e].Value;
            if (clear) cursor[l] = e;
        }
    }

    /// <summary>The g_h rows of panel p's samples, zeroed: the chains start at +0 and lanes past m stay zero.</summary>
    private static void ClearHiddenGradient(Workspace w, int s, int p)
    {
        float* gh = w.Tiles(w.GH, s);
        int first = p * Tile, live = Math.Min(Tile, w.Batch - first);
        for (int t = 0; t < w.HiddenTiles; t++)
            new Span<float>(gh + t * w.HiddenTile + (nint)first * Tile, live * Tile).Clear();
    }

    /// <summary>
    /// Features [i0, i1) of the g_h walk of panel p: g_h[b][j] = serial over b's nonzero g_z, ascending i, of
    /// fma(W_out[i][j], g_z[b][i], acc). Blocks are taken in ascending order and each chain is stored between
    /// them and resumed (no bit changes), so the block of W_out under one piece of lanes stays in L1 while the
    /// panel's samples pass through it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HiddenBlock(Workspace w, int s, int p, float* panel, int i0, int i1, ThreadScratch scratch, ulong* masks = null, int nonzero = 0)
    {
        // Each sample's nonzero g_z of the block, by ascending feature.
        int width = TLanes.Count, stride = SampleLists.Room(w.N);
        int* counts = scratch.Counts;
        SparseEntry* lists = scratch.Lists;
        bool sparse = masks != null && nonzero * SparseBlockShare <= (i1 - i0) * Tile;
        if (sparse) SampleLists.FromMasks(panel, masks, i0, i1, w.N, lists, counts);
        else SampleLists.Build(panel, i0, i1, w.N, lists, counts);
        float* decoder = w.Block(w.Parameters, s) + (w.Tied ? w.EncoderOffset : w.DecoderOffset);
        float* gh = w.Tiles(w.GH, s);
        int first = p * Tile, live = Math.Min(Tile, w.Batch - first), span = RowPieces.Span(width), lanes = w.RowLanes;
        // A sample with no active feature has x = 0, so gW_in, the only reader of g_h, never takes its row: its
        // chains are not run (the row stays +0). At small p that is most of the batch, and its g_z is not zero
        // wherever the bias is positive.
        int* xCounts = w.XCountOf(s) + first;
        for (int l = 0; l < live; l++)
            if (xCounts[l] == 0) counts[l] = 0;
        // The samples with a list, and (sparse) the block's rows that some list takes: only those rows are fetched.
        ulong active = 0;
        for (int l = 0; l < live; l++) active |= (ulong)(counts[l] > 0 ? 1 : 0) << l;
        if (active == 0) return;
        int activeCount = BitOperations.PopCount(active), usedCount = 0;
        int* used = stackalloc int[Blocking.HiddenFeatures];
        for (int i = i0; i < i1; i++)
        {
            used[usedCount] = i;
            usedCount += sparse && masks[i - i0] == 0 ? 0 : 1;
        }
        int j = 0;
        for (; j + span <= lanes; j += span)
        {
            // While this piece's samples pass, fetch the next piece's rows of the block (or the next block's first
            // piece) into L1: the rows are scattered, so the hardware would fetch each on its first use.
            int nextJ = j + span;
            bool nextBlock = nextJ + span > lanes;
            int ahead = nextBlock ? Math.Min(i1 + Blocking.HiddenFeatures, w.N) - i1 : usedCount, fetched = 0, k = 0;
            if (nextBlock) nextJ = 0;
            for (ulong rest = active; rest != 0; rest &= rest - 1)
            {
                int l = BitOperations.TrailingZeroCount(rest);
                if (Sse.IsSupported)
                    for (int upto = ++k * ahead / activeCount; fetched < upto; fetched++)
                    {
                        float* row = decoder + (nint)(nextBlock ? i1 + fetched : used[fetched]) * w.Ldm + nextJ;
                        Sse.Prefetch0(row); Sse.Prefetch0(row + 16); Sse.Prefetch0(row + 32); Sse.Prefetch0(row + 48);
                    }
                RowPieces.Resume<TVec, TLanes>(decoder, w.Ldm, Tile, lists + l * stride, counts[l], j, gh + (nint)(first + l) * Tile, w.HiddenTile);
            }
        }
        if (j < lanes)
        {
            SparseEntry** starts = stackalloc SparseEntry*[live];
            for (int l = 0; l < live; l++) starts[l] = lists + l * stride;
            Rests(decoder, w.Ldm, Tile, starts, counts, live, j, lanes, gh + (nint)first * Tile, Tile, w.HiddenTile);
        }
    }

    public void HiddenGradientDense(Workspace w, int s, int j0, int j1, int l0, int l1, ThreadScratch scratch)
    {
        // g_h^T[j][b] = sum over i of fma(W_out[i][j], g_z[b][i], acc), every i kept (exact: see ExactDense);
        // A(j, i) = W_out[i][j] is read down the columns of W_out, B is g_z^T: contiguous 64-lane rows.
        float* decoder = w.Block(w.Parameters, s) + (w.Tied ? w.EncoderOffset : w.DecoderOffset) + j0;
        int p = l0 / Tile;
        DenseProduct.Multiply<TVec, TLanes>(Operand.Strided(decoder, 1, w.Ldm), w.FeaturePanelOf(w.GzT, s, p), w.FeaturePanel, Tile, 0,
            w.HiddenPanelOf(w.GhT, s, p) + (nint)j0 * Tile, w.HiddenPanel, Tile, j1 - j0, l1 - l0, w.N, scratch.Pack);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void TransposeHiddenGradient(Workspace w, int s, int p)
    {
        float* panel = w.HiddenPanelOf(w.GhT, s, p);
        int first = p * Tile, live = Math.Min(Tile, w.Batch - first);
        float* gh = w.Tiles(w.GH, s) + (nint)first * Tile;
        for (int j0 = 0; j0 < w.M; j0 += Tile)
            Squares.Transpose(panel + (nint)j0 * Tile, Tile, gh + (j0 >> 6) * w.HiddenTile, Tile, Math.Min(Tile, w.M - j0), live);
    }

    public UpdateResult Gradients(Workspace w, int s, int i0, int i1, ThreadScratch scratch, OptimizerScalars? fused, DecoderGradient path, bool skipEmpty)
    {
        if (fused is null)
        {
            var store = new StoreRow<TVec, TLanes>(w.Block(w.Gradients, s));
            FeatureGradients(w, s, i0, i1, scratch, path, skipEmpty, ref store);
            return new UpdateResult(false, float.PositiveInfinity);
        }
        var sink = Sink(w, s, fused);
        FeatureGradients(w, s, i0, i1, scratch, path, skipEmpty, ref sink);
        return new UpdateResult(sink.NonFinite != 0, TLanes.Smallest(sink.Smallest));
    }

    private static OptimizerSink<TVec, TLanes> Sink(Workspace w, int s, OptimizerScalars scalars) =>
        new(scalars, s, w.Block(w.Parameters, s), w.First == null ? null : w.Block(w.First, s), w.Second == null ? null : w.Block(w.Second, s));

    /// <summary>
    /// For the features of the block: gW_out rows, either as one dense product of g_z and h or per feature from
    /// its nonzero g_z; g_b; then gW_in^T rows from each feature's nonzero x and g_h (tied: plus gW_out, one
    /// rounded add). Every finished vector goes to the sink.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FeatureGradients<TSink>(Workspace w, int s, int i0, int i1, ThreadScratch scratch, DecoderGradient path, bool skipEmpty,
        ref TSink sink)
        where TSink : struct, IRowSink<TVec>
    {
        int width = TLanes.Count, features = i1 - i0, batch = w.Batch, ldm = w.Ldm;
        float* gz = w.FeaturePanelOf(w.GzT, s, 0) + (nint)i0 * Tile;   // g_z of feature i0 + f, sample b: gz + (b / 64) panel + 64 f + b % 64
        float* h = w.Tiles(w.H, s);
        float* gh = w.Tiles(w.GH, s);
        float* bias = scratch.BiasGradient;
        if (path == DecoderGradient.Dense)
        {
            // gW_out[i][j] = sum over b of fma(g_z[b][i], h[b][j], acc), every b kept (exact: see ExactDense).
            DenseProduct.Multiply<TVec, TLanes>(new Operand(gz, Tile * Tile, Tile, w.FeaturePanel, 1), h, w.HiddenTile, Tile, 0,
                scratch.Rows, Tile, ldm, features, ldm, batch, scratch.Pack);
            // g_b[i] = sum over b of g_z (adding the zeros is exact): the block's chains interleaved.
            for (int f = 0; f < features; f++) bias[f] = 0f;
            for (int p = 0; p < w.Panels; p++)
            {
                float* panel = gz + p * w.FeaturePanel;
                for (int l = 0; l < Math.Min(Tile, batch - p * Tile); l++)
                    for (int f = 0; f < features; f++) bias[f] += panel[f * Tile + l];
            }
            if (!w.Tied)
                for (int f = 0; f < features; f++)
                {
                    sink.Start(w.DecoderOffset + (nint)(i0 + f) * ldm, w.M, decoder: true);
                    float* row = scratch.Rows + (nint)f * ldm;
                    for (int j = 0; j < ldm; j += width) sink.Put(j, TLanes.Load(row + j));
                }
        }
        else
        {
            // Each feature's nonzero g_z over samples, ascending (lanes past the batch hold zeros), and g_b[i] = the
            // plain sum of the feature's nonzero g_z over samples, ascending. Lists are written in feature order, so
            // the junk an append leaves past a list is overwritten by the next.
            SparseEntry* lists = scratch.Lists;
            int* counts = scratch.Counts;
            int* xCounts = w.XCountOf(s);
            for (int f = 0; f < features; f++)
            {
                SparseEntry* list = lists + (nint)f * batch;
                if (path != DecoderGradient.SparseFromLists)
                {
                    int nonzero = NonZeroLanes(w, gz + f * Tile, list);
                    if (skipEmpty)
                    {
                        float sum = 0f;
                        counts[f] = KeepNonEmpty(list, list, nonzero, xCounts, ref sum);
                        bias[f] = sum;
                    }
                    else (counts[f], bias[f]) = (nonzero, AddValues(list, nonzero));
                    continue;
                }
                int count = 0;
                float gb = 0f;
                for (int p = 0; p < w.Panels; p++)
                {
                    // The fused walk's list of the panel: feature i0 + f's entries, already in sample order.
                    int* start = w.GzStartOf(s, p) + i0 + f;
                    int from = start[0], length = start[1] - from;
                    SparseEntry* source = w.GzListOf(s, p) + from;
                    if (!skipEmpty)
                    {
                        gb = CopyAndAdd(list + count, source, length, gb);
                        count += length;
                        continue;
                    }
                    count += KeepNonEmpty(list + count, source, length, xCounts, ref gb);
                }
                bias[f] = gb;
                counts[f] = count;
            }
            // gW_out[i][j] = serial over i's nonzero g_z, ascending b, of fma(h[b][j], g_z[b][i], acc); either walk
            // gives these chains, so the choice changes no bit.
            int listed = 0;
            for (int f = 0; f < features; f++) listed += counts[f];
            if (listed < Blocking.WholeBatchEntries * features) DecoderGradientPieces(w, h, lists, counts, features, scratch.Rows);
            else
            {
                SparseEntry** featureLists = stackalloc SparseEntry*[features];
                for (int f = 0; f < features; f++) featureLists[f] = lists + (nint)f * batch;
                SampleBlocks(w, h, featureLists, counts, features, scratch.Rows);
            }
            if (!w.Tied)
                for (int f = 0; f < features; f++)
                {
                    sink.Start(w.DecoderOffset + (nint)(i0 + f) * ldm, w.M, decoder: true);
                    float* row = scratch.Rows + (nint)f * ldm;
                    for (int j2 = 0; j2 < ldm; j2 += width) sink.Put(j2, TLanes.Load(row + j2));
                }
        }
        // Each feature's nonzero x over samples, ascending, from the x^T panels: the lists of g_z above are done with.
        SparseEntry** columnLists = stackalloc SparseEntry*[features];
        int* columnCounts = stackalloc int[features];
        long entries = 0;
        for (int f = 0; f < features; f++)
        {
            columnLists[f] = scratch.Lists + (nint)f * batch;
            entries += columnCounts[f] = NonZeroLanes(w, w.FeaturePanelOf(w.XT, s, 0) + (nint)(i0 + f) * Tile, columnLists[f]);
        }
        if (entries >= Blocking.PiecesOutermost * (i1 - i0))
        {
            // gW_in^T in blocks of samples (g_h's rows under a piece, 32 KiB, in L1, where pieces of every row were read
            // from L2), then each row to the sink; tied: plus gW_out's row, one rounded add, as Combine below adds it.
            SampleBlocks(w, gh, columnLists, columnCounts, features, scratch.InputRows);
            for (int f = 0; f < features; f++)
            {
                sink.Start(w.EncoderOffset + (nint)(i0 + f) * ldm, w.M, decoder: w.Tied);
                float* row = scratch.InputRows + (nint)f * ldm, addend = scratch.Rows + (nint)f * ldm;
                for (int j2 = 0; j2 < ldm; j2 += width)
                    sink.Put(j2, w.Tied ? TLanes.Add(TLanes.Load(row + j2), TLanes.Load(addend + j2)) : TLanes.Load(row + j2));
            }
        }
        else
            for (int i = i0; i < i1; i++)
            {
                sink.Start(w.EncoderOffset + (nint)i * ldm, w.M, decoder: w.Tied);
                RowProduct.Combine<TVec, TLanes, TSink>(gh, Tile, w.HiddenTile, columnLists[i - i0], columnCounts[i - i0], w.RowLanes, ldm,
                    w.Tied ? scratch.Rows + (nint)(i - i0) * ldm : null, ref sink);
            }
        if (w.Bias) PutBias(w, i0, i1, bias, ref sink);
    }

    /// <summary>
    /// Copies <paramref name="count"/> entries to <paramref name="target"/> and returns <paramref name="sum"/> plus their
    /// values, added in order: one pass over the entries, whose first touch (the other thread may have written them)
    /// is the cost, with the sum in a register (inlined into the gradients, the JIT kept it on the stack between adds).
    /// </summary>
    private static float CopyAndAdd(SparseEntry* target, SparseEntry* source, int count, float sum)
    {
        for (int e = 0; e < count; e++)
        {
            SparseEntry entry = source[e];
            target[e] = entry;
            sum += entry.Value;
        }
        return sum;
    }

    /// <summary>The plain sum of <paramref name="count"/> entries' values, in order from +0.</summary>
    private static float AddValues(SparseEntry* entries, int count)
    {
        float sum = 0f;
        for (int e = 0; e < count; e++) sum += entries[e].Value;
        return sum;
    }

    /// <summary>
    /// Copies the entries of a feature's list over samples to <paramref name="target"/> (which may be the source itself),
    /// leaving out those of samples with no active feature (<paramref name="xCounts"/>[sample] 0) and keeping the
    /// order; returns how many it kept. Every entry is written and the kept ones advance (no branch to mispredict).
    /// Every entry's value, kept or not, is added in order to <paramref name="sum"/> (g_b takes them all).
    /// </summary>
    private static int KeepNonEmpty(SparseEntry* target, SparseEntry* source, int count, int* xCounts, ref float sum)
    {
        int kept = 0;
        float total = sum;
        for (int e = 0; e < count; e++)
        {
            SparseEntry entry = source[e];
            target[kept] = entry;
            total += entry.Value;
            kept += xCounts[entry.Index] != 0 ? 1 : 0;
        }
        sum = total;
        return kept;
    }

    /// <summary>
    /// One feature's nonzero values over the batch, by ascending sample, from its row of an n-feature panel buffer
    /// (x^T or g_z^T; <paramref name="row0"/> in panel 0; lanes past the batch hold zeros) into <paramref name="list"/>
    /// (room for the batch and one vector's append); returns how many. A vector of zeros costs a compare.
    /// </summary>
    private static int NonZeroLanes(Workspace w, float* row0, SparseEntry* list)
    {
        int count = 0;
        for (int p = 0; p < w.Panels; p++)
        {
            float* row = row0 + p * w.FeaturePanel;
            for (int v = 0; v < Tile; v += TLanes.Count)
            {
                TVec x = TLanes.Load(row + v);
                if (TLanes.NonZeroBits(x) != 0) count += TLanes.AppendNonZero(x, p * Tile + v, list + count);
            }
        }
        return count;
    }

    /// <summary>
    /// The gW_out rows of a block of features from few entries a feature: pieces of lanes outermost over the whole
    /// batch, each chain in one pass over its list (one piece of h, B x 64 lanes, stays in L2 while the features
    /// pass), so no chain is stored and resumed between blocks of samples and the rows need no clearing. Feature f
    /// takes its nonzero g_z by ascending sample from lists + f B (counts[f] of them) and writes its row, lanes past
    /// m zero, to rows + f ldm; h is the instance's h tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecoderGradientPieces(Workspace w, float* h, SparseEntry* lists, int* counts, int features, float* rows)
    {
        var store = new StoreRow<TVec, TLanes>(rows, Tile);
        RowProduct.PiecesOutermost<TVec, TLanes, StoreRow<TVec, TLanes>>(h, Tile, w.HiddenTile, lists, w.Batch, counts, features, w.RowLanes, w.Ldm, w.M,
            0, w.Ldm, ref store);
    }

    /// <summary>
    /// Rows of a block of features from many entries a feature, walked in blocks of samples, so the block of the
    /// source's rows under one piece of lanes stays in L1 while the block's features pass through it; each chain is
    /// stored in the block's rows between blocks and resumed (no bit changes). Feature f takes its entries (sample,
    /// value) by ascending sample from lists[f] (counts[f] of them) and gets row f of rows (ldm apart, cleared first,
    /// lanes past m zero): gW_out from g_z and h, gW_in^T from x's lists and g_h (source: an instance's tiles).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SampleBlocks(Workspace w, float* source, SparseEntry** lists, int* counts, int features, float* rows)
    {
        new Span<float>(rows, features * w.Ldm).Clear(); // lanes past m stay zero
        BlockWalk(w, source, Tile, w.HiddenTile, lists, counts, features, Blocking.GradientSamples, rows, w.Ldm, Tile);
    }

    /// <summary>
    /// The chains of several lists walked in ascending blocks of their entries' index (the index is ascending in each
    /// list): per block, piece by piece of lanes, every list's entries in the block, so the source's rows of the block
    /// under one piece stay in L1 while the lists pass. List t's chains live in its output row (output + t
    /// outputStride, tiles outputTileStride apart; zeroed by the caller) and are stored and resumed between blocks,
    /// which changes no bit. Rows of the source: entry index e at rows + e rowStride, lane j at (j / 64) tileStride + j % 64.
    /// </summary>
    private static void BlockWalk(Workspace w, float* rows, nint rowStride, nint tileStride, SparseEntry** lists, int* counts, int listCount,
        int block, float* output, nint outputStride, nint outputTileStride)
    {
        int span = RowPieces.Span(TLanes.Count), lanes = w.RowLanes;
        // List t's entries in the current block: lengths[t] of them from starts[t].
        SparseEntry** starts = stackalloc SparseEntry*[listCount];
        int* lengths = stackalloc int[listCount];
        for (int t = 0; t < listCount; t++) { starts[t] = lists[t]; lengths[t] = 0; }
        for (int bound = block; ; bound += block)
        {
            bool any = false, more = false;
            for (int t = 0; t < listCount; t++)
            {
                SparseEntry* start = starts[t] += lengths[t], end = lists[t] + counts[t], e = start;
                while (e < end && e->Index < bound) e++;
                lengths[t] = (int)(e - start);
                any |= e > start;
                more |= e < end;
            }
            if (any)
            {
                int j = 0;
                for (; j + span <= lanes; j += span)
                    for (int t = 0; t < listCount; t++)
                        if (lengths[t] > 0)
                            RowPieces.Resume<TVec, TLanes>(rows, rowStride, tileStride, starts[t], lengths[t], j, output + t * outputStride, outputTileStride);
                if (j < lanes) Rests(rows, rowStride, tileStride, starts, lengths, listCount, j, lanes, output, outputStride, outputTileStride);
            }
            if (!more) return;
        }
    }

    /// <summary>
    /// Lanes [j, <paramref name="lanes"/>) past the last whole piece, for every list with entries (list t: lengths[t] entries
    /// from starts[t], chains in output + t outputStride): short rests pair up the lists (see RowPieces.ResumeRestPair),
    /// an odd one out goes alone; longer rests go one list at a time.
    /// </summary>
    private static void Rests(float* rows, nint rowStride, nint tileStride, SparseEntry** starts, int* lengths, int listCount, int j, int lanes,
        float* output, nint outputStride, nint outputTileStride)
    {
        bool paired = (lanes - j) / TLanes.Count <= RowPieces.PairedVectors;
        int waiting = -1;
        for (int t = 0; t < listCount; t++)
        {
            if (lengths[t] == 0) continue;
            if (!paired)
                RowPieces.ResumeRest<TVec, TLanes>(rows, rowStride, tileStride, starts[t], lengths[t], j, lanes, output + t * outputStride, outputTileStride);
            else if (waiting < 0) waiting = t;
            else
            {
                RowPieces.ResumeRestPair<TVec, TLanes>(rows, rowStride, tileStride, j, lanes, outputTileStride,
                    starts[waiting], lengths[waiting], output + waiting * outputStride, starts[t], lengths[t], output + t * outputStride);
                waiting = -1;
            }
        }
        if (waiting >= 0)
            RowPieces.ResumeRest<TVec, TLanes>(rows, rowStride, tileStride, starts[waiting], lengths[waiting], j, lanes,
                output + waiting * outputStride, outputTileStride);
    }

    /// <summary>g_b of features [i0, i1) (i0 a multiple of 16): whole vectors, zero past the last feature.</summary>
    private static void PutBias<TSink>(Workspace w, int i0, int i1, float* gradient, ref TSink sink) where TSink : struct, IRowSink<TVec>
    {
        int end = Workspace.RoundUp(i1, Workspace.Alignment);
        for (int i = i1; i < end; i++) gradient[i - i0] = 0f;
        sink.Start(w.BiasOffset, w.N);
        for (int i = i0; i < end; i += TLanes.Count) sink.Put(i, TLanes.Load(gradient + (i - i0)));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public UpdateResult Update(Workspace w, int s, int i0, int i1, OptimizerScalars scalars)
    {
        var sink = Sink(w, s, scalars);
        float* gradient = w.Block(w.Gradients, s);
        for (int i = i0; i < i1; i++)
        {
            PutRow(gradient, w.EncoderOffset + (nint)i * w.Ldm, 0, w.Ldm, w.M, w.Tied, ref sink);
            if (!w.Tied) PutRow(gradient, w.DecoderOffset + (nint)i * w.Ldm, 0, w.Ldm, w.M, true, ref sink);
        }
        if (w.Bias) PutRow(gradient, w.BiasOffset, i0, Workspace.RoundUp(i1, Workspace.Alignment), w.N, false, ref sink);
        return new UpdateResult(sink.NonFinite != 0, TLanes.Smallest(sink.Smallest));
    }

    /// <summary>Lanes [from, to) of the stored gradient row at <paramref name="offset"/> through the optimizer; the first <paramref name="width"/> are real.</summary>
    private static void PutRow(float* gradient, nint offset, int from, int to, int width, bool decoder, ref OptimizerSink<TVec, TLanes> sink)
    {
        sink.Start(offset, width, decoder);
        for (int j = from; j < to; j += TLanes.Count) sink.Put(j, TLanes.Load(gradient + offset + j));
    }
}
