using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>
/// The sparse products, all one shape: a row that is a combination of matrix rows chosen by a sparse
/// list, out[j] = serial-k over the list, in its (ascending) order, of fma(rows[index_t][j], value_t, acc),
/// acc from +0. Vectorised across the output lanes j, so every lane runs exactly the reference's chain.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>encoder: h[b] from W_in^T rows and the nonzero x of sample b;</item>
/// <item>decoder backward: g_h[b] from W_out rows and the nonzero g_z of sample b;</item>
/// <item>gW_out[i] from h rows and the nonzero g_z of feature i (over samples);</item>
/// <item>gW_in^T[i] from g_h rows and the nonzero x of feature i (over samples).</item>
/// </list>
/// The list holds only nonzero values: the reference skips exact zeros, and so must we. Eight accumulators
/// (two halves of up to 64 lanes) are in flight, enough to hide the fma latency.
/// </remarks>
internal static unsafe class RowProduct
{
    /// <summary>How many entries ahead the rows are prefetched.</summary>
    private const int Lookahead = 4;

    /// <summary>
    /// A whole output row of <paramref name="width"/> lanes (a multiple of 16): the pieces and the rest of its first
    /// <paramref name="lanes"/>, then +0 (plus the addend) for the padding lanes past them.
    /// </summary>
    /// <param name="rows">Element (r, j) at rows + r * rowStride + (j / 64) * tileStride + j % 64 (row-major: tileStride 64).</param>
    /// <param name="rowStride">Floats between rows r and r + 1 of <paramref name="rows"/> (the row length, or 64 for rows inside tiles).</param>
    /// <param name="tileStride">Floats between lanes j and j + 64 of a row of <paramref name="rows"/>.</param>
    /// <param name="list">The nonzero factors, ascending: entry t picks row list[t].Index and scales it by list[t].Value.</param>
    /// <param name="count">Entries in <paramref name="list"/>; 0 gives a row of +0 (plus the addend).</param>
    /// <param name="lanes">Lanes whose chains are run: the real ones rounded up to whole vectors (a multiple of 16, at most
    /// <paramref name="width"/>). Past them the rows' lanes are +0 and every factor is finite, so each chain would stay +0.</param>
    /// <param name="width">Lanes of the output row, every one put (padding lanes included): the padded row length.</param>
    /// <param name="addend">null, or a row-major row added after the chain (one rounded add: out = chain + addend[j]).</param>
    /// <param name="sink">Takes each finished vector (Put, lanes [j, j + Count)); the caller has started the row on it (Start).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Combine<TVec, TLanes, TSink>(float* rows, nint rowStride, nint tileStride, SparseEntry* list, int count, int lanes, int width,
        float* addend, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        int j = 0, span = RowPieces.Span(TLanes.Count);
        for (; j + span <= lanes; j += span) Piece<TVec, TLanes, TSink>(rows, rowStride, tileStride, list, count, j, addend, ref sink);
        if (j < lanes) Rest<TVec, TLanes, TSink>(rows, rowStride, tileStride, list, count, j, lanes, addend, ref sink);
        Padding<TVec, TLanes, TSink>(lanes, width, addend, ref sink);
    }

    /// <summary>
    /// Lanes [<paramref name="lanes"/>, <paramref name="width"/>) of a row: the chain +0 (the padding lanes of the rows are +0,
    /// so no chain was run there), plus the addend. The padding's Adam state and parameters thus stay +0, as they were made.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Padding<TVec, TLanes, TSink>(int lanes, int width, float* addend, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        for (int j = lanes; j < width; j += TLanes.Count)
            sink.Put(j, addend == null ? TLanes.Zero : TLanes.Add(TLanes.Zero, TLanes.Load(addend + j)));
    }

    /// <summary>
    /// <see cref="Combine"/> for many lists over the same rows, pieces of lanes outermost: while one piece of the rows
    /// stays in cache every list passes through it (the chains are per lane, so the order of pieces changes no bit).
    /// List t (entries at lists + t <paramref name="listStride"/>, counts[t] of them) makes the output row started on
    /// the sink at <paramref name="firstOffset"/> + t <paramref name="outputStride"/>.
    /// </summary>
    /// <param name="rows">As for <see cref="Combine"/>.</param>
    /// <param name="rowStride">As for <see cref="Combine"/>.</param>
    /// <param name="tileStride">As for <see cref="Combine"/>.</param>
    /// <param name="lists">The first list; list t at lists + t listStride, each ascending as for <see cref="Combine"/>.</param>
    /// <param name="listStride">Entries between the starts of lists t and t + 1.</param>
    /// <param name="counts">Entries in each list, <paramref name="listCount"/> of them.</param>
    /// <param name="listCount">Lists, and output rows.</param>
    /// <param name="lanes">As for <see cref="Combine"/>: lanes whose chains are run.</param>
    /// <param name="width">As for <see cref="Combine"/>: lanes of each output row, those past <paramref name="lanes"/> put as +0.</param>
    /// <param name="realWidth">The real lanes of each output row (Start's width).</param>
    /// <param name="firstOffset">Where output row 0 starts on the sink.</param>
    /// <param name="outputStride">Floats between the starts of output rows t and t + 1 on the sink.</param>
    /// <param name="sink">Takes each finished vector of the row last started.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PiecesOutermost<TVec, TLanes, TSink>(float* rows, nint rowStride, nint tileStride, SparseEntry* lists, nint listStride,
        int* counts, int listCount, int lanes, int width, int realWidth, nint firstOffset, nint outputStride, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        int j = 0, span = RowPieces.Span(TLanes.Count);
        for (; j + span <= lanes; j += span)
            for (int t = 0; t < listCount; t++)
            {
                sink.Start(firstOffset + t * outputStride, realWidth);
                Piece<TVec, TLanes, TSink>(rows, rowStride, tileStride, lists + t * listStride, counts[t], j, null, ref sink);
            }
        if (j < lanes)
            for (int t = 0; t < listCount; t++)
            {
                sink.Start(firstOffset + t * outputStride, realWidth);
                Rest<TVec, TLanes, TSink>(rows, rowStride, tileStride, lists + t * listStride, counts[t], j, lanes, null, ref sink);
            }
        if (lanes < width)
            for (int t = 0; t < listCount; t++)
            {
                sink.Start(firstOffset + t * outputStride, realWidth);
                Padding<TVec, TLanes, TSink>(lanes, width, null, ref sink);
            }
    }

    /// <summary>
    /// Lanes [j, j + <see cref="RowPieces.Span"/>) of one output row (j a multiple of the span): callers that
    /// combine many lists over the same rows take the pieces outermost, so one piece of the rows stays in cache
    /// while every list passes through it (the chains are per lane, so the order of pieces changes no bit).
    /// </summary>
    /// <param name="rows">Element (r, j) at rows + r * rowStride + (j / 64) * tileStride + j % 64 (row-major: tileStride 64).</param>
    /// <param name="rowStride">Floats between rows r and r + 1 of <paramref name="rows"/> (the row length, or 64 for rows inside tiles).</param>
    /// <param name="tileStride">Floats between lanes j and j + 64 of a row of <paramref name="rows"/>.</param>
    /// <param name="list">The nonzero factors, ascending: entry t picks row list[t].Index and scales it by list[t].Value.</param>
    /// <param name="count">Entries in <paramref name="list"/>; 0 gives +0 (plus the addend).</param>
    /// <param name="j">The piece's first lane: a multiple of <see cref="RowPieces.Span"/>(Count), with the whole piece inside the row.</param>
    /// <param name="addend">null, or a row-major row added after the chain (one rounded add: out = chain + addend[j]).</param>
    /// <param name="sink">Takes the piece's 8 vectors (Put, lanes j + v Count); the caller has started the row on it (Start).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Piece<TVec, TLanes, TSink>(float* rows, nint rowStride, nint tileStride, SparseEntry* list, int count, int j,
        float* addend, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        int c = TLanes.Count, half = 4 * c;
        // Each half lies inside one tile (4 vectors are at most 64 lanes and divide 64).
        nint first = (j >> 6) * tileStride + (j & 63), second = ((j + half) >> 6) * tileStride + ((j + half) & 63);
        TVec a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero;
        TVec a4 = TLanes.Zero, a5 = TLanes.Zero, a6 = TLanes.Zero, a7 = TLanes.Zero;
        for (int t = 0; t < count; t++)
        {
            float* row = rows + list[t].Index * rowStride;
            TVec x = TLanes.Broadcast(list[t].Value);
            float* p = row + first, q = row + second;
            if (Sse.IsSupported && t + Lookahead < count)
            {
                // The rows are scattered (chosen by the list): fetch a later entry's lines while this one runs.
                float* ahead = rows + list[t + Lookahead].Index * rowStride;
                Sse.Prefetch0(ahead + first);
                Sse.Prefetch0(ahead + second);
            }
            a0 = TLanes.Fma(TLanes.Load(p), x, a0);
            a1 = TLanes.Fma(TLanes.Load(p + c), x, a1);
            a2 = TLanes.Fma(TLanes.Load(p + 2 * c), x, a2);
            a3 = TLanes.Fma(TLanes.Load(p + 3 * c), x, a3);
            a4 = TLanes.Fma(TLanes.Load(q), x, a4);
            a5 = TLanes.Fma(TLanes.Load(q + c), x, a5);
            a6 = TLanes.Fma(TLanes.Load(q + 2 * c), x, a6);
            a7 = TLanes.Fma(TLanes.Load(q + 3 * c), x, a7);
        }
        if (addend != null)
        {
            float* e = addend + j;
            a0 = TLanes.Add(a0, TLanes.Load(e));
            a1 = TLanes.Add(a1, TLanes.Load(e + c));
            a2 = TLanes.Add(a2, TLanes.Load(e + 2 * c));
            a3 = TLanes.Add(a3, TLanes.Load(e + 3 * c));
            a4 = TLanes.Add(a4, TLanes.Load(e + 4 * c));
            a5 = TLanes.Add(a5, TLanes.Load(e + 5 * c));
            a6 = TLanes.Add(a6, TLanes.Load(e + 6 * c));
            a7 = TLanes.Add(a7, TLanes.Load(e + 7 * c));
        }
        sink.Put(j, a0);
        sink.Put(j + c, a1);
        sink.Put(j + 2 * c, a2);
        sink.Put(j + 3 * c, a3);
        sink.Put(j + 4 * c, a4);
        sink.Put(j + 5 * c, a5);
        sink.Put(j + 6 * c, a6);
        sink.Put(j + 7 * c, a7);
    }

    /// <summary>
    /// The lanes past the last whole piece, [j, <paramref name="width"/>): at most 7 vectors, all in one pass over
    /// the list (one vector at a time would be a chain of dependent fmas, latency bound, per vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rest<TVec, TLanes, TSink>(float* rows, nint rowStride, nint tileStride, SparseEntry* list, int count, int j, int width,
        float* addend, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        int c = TLanes.Count;
        var at = new RestOffsets(j, (width - j) / c, c, tileStride);
        TVec a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero, a4 = TLanes.Zero, a5 = TLanes.Zero, a6 = TLanes.Zero;
        for (int t = 0; t < count; t++)
        {
            float* row = rows + list[t].Index * rowStride;
            TVec x = TLanes.Broadcast(list[t].Value);
            a0 = TLanes.Fma(TLanes.Load(row + at.O0), x, a0);
            a1 = TLanes.Fma(TLanes.Load(row + at.O1), x, a1);
            a2 = TLanes.Fma(TLanes.Load(row + at.O2), x, a2);
            a3 = TLanes.Fma(TLanes.Load(row + at.O3), x, a3);
            a4 = TLanes.Fma(TLanes.Load(row + at.O4), x, a4);
            a5 = TLanes.Fma(TLanes.Load(row + at.O5), x, a5);
            a6 = TLanes.Fma(TLanes.Load(row + at.O6), x, a6);
        }
        Put<TVec, TLanes, TSink>(a0, j, 0, width, addend, ref sink);
        Put<TVec, TLanes, TSink>(a1, j, 1, width, addend, ref sink);
        Put<TVec, TLanes, TSink>(a2, j, 2, width, addend, ref sink);
        Put<TVec, TLanes, TSink>(a3, j, 3, width, addend, ref sink);
        Put<TVec, TLanes, TSink>(a4, j, 4, width, addend, ref sink);
        Put<TVec, TLanes, TSink>(a5, j, 5, width, addend, ref sink);
        Put<TVec, TLanes, TSink>(a6, j, 6, width, addend, ref sink);
    }

    /// <summary>Vector k of the rest starting at lane j, when it is below the width: plus the addend (one rounded add), to the sink.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TVec, TLanes, TSink>(TVec a, int j, int k, int width, float* addend, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        int lane = j + k * TLanes.Count;
        if (lane >= width) return;
        if (addend != null) a = TLanes.Add(a, TLanes.Load(addend + lane));
        sink.Put(lane, a);
    }
}

/// <summary>
/// Where the 7 vectors of a rest of lanes lie in a tiled row (lanes [64 t, 64 t + 64) at t * tileStride): those
/// past the rest repeat its last vector, so a pass over the list always runs 7 independent chains and the
/// repeats are simply not stored.
/// </summary>
internal readonly struct RestOffsets
{
    public readonly nint O0, O1, O2, O3, O4, O5, O6;

    /// <param name="j">The rest's first lane (just past the last whole piece).</param>
    /// <param name="vectors">Vectors in the rest, 1 .. 7.</param>
    /// <param name="width">Lanes per vector (TLanes.Count): vector k of the rest starts at lane j + k width.</param>
    /// <param name="tileStride">Floats between lanes j and j + 64 of the row the offsets are for.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RestOffsets(int j, int vectors, int width, nint tileStride)
    {
        O0 = Of(j, 0, vectors, width, tileStride); O1 = Of(j, 1, vectors, width, tileStride); O2 = Of(j, 2, vectors, width, tileStride);
        O3 = Of(j, 3, vectors, width, tileStride); O4 = Of(j, 4, vectors, width, tileStride); O5 = Of(j, 5, vectors, width, tileStride);
        O6 = Of(j, 6, vectors, width, tileStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint Of(int j, int k, int vectors, int width, nint tileStride)
    {
        int lane = j + Math.Min(k, vectors - 1) * width;
        return (lane >> 6) * tileStride + (lane & 63);
    }
}

/// <summary>
/// <see cref="RowProduct"/> cut into pieces: a chain resumed from where an earlier piece stored it, over lanes
/// [j, j + Span(TLanes.Count)) only, so that a block of rows stays in L1 while many chains pass through it.
/// </summary>
/// <remarks>
/// The sparse backward products walk their lists in blocks (of features for g_h, of samples for gW_out) in
/// ascending order; each chain is stored after one block and loaded before the next, which changes no bit.
/// </remarks>
internal static unsafe class RowPieces
{
    /// <summary>Lanes of one piece: eight vectors in two halves of four (each half inside one 64-lane tile).</summary>
    public static int Span(int width) => 8 * width;

    /// <param name="rows">Element (r, j) at rows + r * rowStride + (j / 64) * tileStride + j % 64.</param>
    /// <param name="rowStride">Floats between rows r and r + 1 of <paramref name="rows"/> (the row length, or 64 for rows inside tiles).</param>
    /// <param name="tileStride">Floats between lanes j and j + 64 of a row of <paramref name="rows"/>.</param>
    /// <param name="list">This block's nonzero factors, ascending and after every entry of earlier blocks: entry t adds row list[t].Index times list[t].Value.</param>
    /// <param name="count">Entries in <paramref name="list"/>; 0 stores the chains back unchanged.</param>
    /// <param name="j">The piece's first lane: a multiple of <see cref="Span"/>(Count), with the whole piece inside the row.</param>
    /// <param name="output">Element j at output + (j / 64) * outputTileStride + j % 64; holds the chains to resume.</param>
    /// <param name="outputTileStride">Floats between lanes j and j + 64 of <paramref name="output"/> (64 for a row-major row).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Resume<TVec, TLanes>(float* rows, nint rowStride, nint tileStride, SparseEntry* list, int count, int j,
        float* output, nint outputTileStride)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int c = TLanes.Count, half = 4 * c;
        nint first = (j >> 6) * tileStride + (j & 63), second = ((j + half) >> 6) * tileStride + ((j + half) & 63);
        float* p0 = output + (j >> 6) * outputTileStride + (j & 63), q0 = output + ((j + half) >> 6) * outputTileStride + ((j + half) & 63);
        TVec a0 = TLanes.Load(p0), a1 = TLanes.Load(p0 + c), a2 = TLanes.Load(p0 + 2 * c), a3 = TLanes.Load(p0 + 3 * c);
        TVec a4 = TLanes.Load(q0), a5 = TLanes.Load(q0 + c), a6 = TLanes.Load(q0 + 2 * c), a7 = TLanes.Load(q0 + 3 * c);
        for (int t = 0; t < count; t++)
        {
            float* row = rows + list[t].Index * rowStride;
            TVec x = TLanes.Broadcast(list[t].Value);
            float* p = row + first, q = row + second;
            a0 = TLanes.Fma(TLanes.Load(p), x, a0);
            a1 = TLanes.Fma(TLanes.Load(p + c), x, a1);
            a2 = TLanes.Fma(TLanes.Load(p + 2 * c), x, a2);
            a3 = TLanes.Fma(TLanes.Load(p + 3 * c), x, a3);
            a4 = TLanes.Fma(TLanes.Load(q), x, a4);
            a5 = TLanes.Fma(TLanes.Load(q + c), x, a5);
            a6 = TLanes.Fma(TLanes.Load(q + 2 * c), x, a6);
            a7 = TLanes.Fma(TLanes.Load(q + 3 * c), x, a7);
        }
        TLanes.Store(p0, a0); TLanes.Store(p0 + c, a1); TLanes.Store(p0 + 2 * c, a2); TLanes.Store(p0 + 3 * c, a3);
        TLanes.Store(q0, a4); TLanes.Store(q0 + c, a5); TLanes.Store(q0 + 2 * c, a6); TLanes.Store(q0 + 3 * c, a7);
    }

    /// <summary>The lanes past the last whole piece, [j, <paramref name="width"/>), all in one pass over the list (see <see cref="RowProduct.Rest"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ResumeRest<TVec, TLanes>(float* rows, nint rowStride, nint tileStride, SparseEntry* list, int count, int j, int width,
        float* output, nint outputTileStride)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int c = TLanes.Count, vectors = (width - j) / c;
        var at = new RestOffsets(j, vectors, c, tileStride);
        var to = new RestOffsets(j, vectors, c, outputTileStride);
        TVec a0 = TLanes.Load(output + to.O0), a1 = TLanes.Load(output + to.O1), a2 = TLanes.Load(output + to.O2), a3 = TLanes.Load(output + to.O3);
        TVec a4 = TLanes.Load(output + to.O4), a5 = TLanes.Load(output + to.O5), a6 = TLanes.Load(output + to.O6);
        for (int t = 0; t < count; t++)
        {
            float* row = rows + list[t].Index * rowStride;
            TVec x = TLanes.Broadcast(list[t].Value);
            a0 = TLanes.Fma(TLanes.Load(row + at.O0), x, a0);
            a1 = TLanes.Fma(TLanes.Load(row + at.O1), x, a1);
            a2 = TLanes.Fma(TLanes.Load(row + at.O2), x, a2);
            a3 = TLanes.Fma(TLanes.Load(row + at.O3), x, a3);
            a4 = TLanes.Fma(TLanes.Load(row + at.O4), x, a4);
            a5 = TLanes.Fma(TLanes.Load(row + at.O5), x, a5);
            a6 = TLanes.Fma(TLanes.Load(row + at.O6), x, a6);
        }
        // Repeated vectors hold the same chain as the last one: only the rest's own are stored.
        TLanes.Store(output + to.O0, a0);
        if (vectors > 1) TLanes.Store(output + to.O1, a1);
        if (vectors > 2) TLanes.Store(output + to.O2, a2);
        if (vectors > 3) TLanes.Store(output + to.O3, a3);
        if (vectors > 4) TLanes.Store(output + to.O4, a4);
        if (vectors > 5) TLanes.Store(output + to.O5, a5);
        if (vectors > 6) TLanes.Store(output + to.O6, a6);
    }

    /// <summary>Rests of at most this many vectors go two chains a pass (<see cref="ResumeRestPair"/>).</summary>
    public const int PairedVectors = 4;

    /// <summary>
    /// <see cref="ResumeRest"/> for two independent chains (lists a and b, each into its own output) in one pass,
    /// for rests of at most <see cref="PairedVectors"/> vectors. A short rest is one chain of dependent fmas per
    /// vector, too few to cover the fma latency; two lists side by side double the chains and load no repeated
    /// vectors. Each chain takes its own list in order, so no bit changes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ResumeRestPair<TVec, TLanes>(float* rows, nint rowStride, nint tileStride, int j, int width, nint outputTileStride,
        SparseEntry* listA, int countA, float* outputA, SparseEntry* listB, int countB, float* outputB)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int c = TLanes.Count, vectors = (width - j) / c;
        var at = new RestOffsets(j, vectors, c, tileStride);
        var to = new RestOffsets(j, vectors, c, outputTileStride);
        TVec a0 = TLanes.Load(outputA + to.O0), a1 = TLanes.Load(outputA + to.O1), a2 = TLanes.Load(outputA + to.O2), a3 = TLanes.Load(outputA + to.O3);
        TVec b0 = TLanes.Load(outputB + to.O0), b1 = TLanes.Load(outputB + to.O1), b2 = TLanes.Load(outputB + to.O2), b3 = TLanes.Load(outputB + to.O3);
        int both = Math.Min(countA, countB), t = 0;
        for (; t < both; t++)
        {
            float* rowA = rows + listA[t].Index * rowStride, rowB = rows + listB[t].Index * rowStride;
            TVec x = TLanes.Broadcast(listA[t].Value), y = TLanes.Broadcast(listB[t].Value);
            a0 = TLanes.Fma(TLanes.Load(rowA + at.O0), x, a0);
            b0 = TLanes.Fma(TLanes.Load(rowB + at.O0), y, b0);
            a1 = TLanes.Fma(TLanes.Load(rowA + at.O1), x, a1);
            b1 = TLanes.Fma(TLanes.Load(rowB + at.O1), y, b1);
            a2 = TLanes.Fma(TLanes.Load(rowA + at.O2), x, a2);
            b2 = TLanes.Fma(TLanes.Load(rowB + at.O2), y, b2);
            a3 = TLanes.Fma(TLanes.Load(rowA + at.O3), x, a3);
            b3 = TLanes.Fma(TLanes.Load(rowB + at.O3), y, b3);
        }
        // As in ResumeRest, repeated vectors are not stored.
        TLanes.Store(outputA + to.O0, a0);
        TLanes.Store(outputB + to.O0, b0);
        if (vectors > 1) { TLanes.Store(outputA + to.O1, a1); TLanes.Store(outputB + to.O1, b1); }
        if (vectors > 2) { TLanes.Store(outputA + to.O2, a2); TLanes.Store(outputB + to.O2, b2); }
        if (vectors > 3) { TLanes.Store(outputA + to.O3, a3); TLanes.Store(outputB + to.O3, b3); }
        // The longer list's tail continues its chain from the stored sums (a store and a load change no bit).
        if (t < countA) ResumeRest<TVec, TLanes>(rows, rowStride, tileStride, listA + t, countA - t, j, width, outputA, outputTileStride);
        if (t < countB) ResumeRest<TVec, TLanes>(rows, rowStride, tileStride, listB + t, countB - t, j, width, outputB, outputTileStride);
    }
}
