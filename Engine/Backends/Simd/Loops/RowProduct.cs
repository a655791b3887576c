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

    /// <param name="rows">Element (r, j) at rows + r * rowStride + (j / 64) * tileStride + j % 64 (row-major: tileStride 64).</param>
    /// <param name="width">Lanes per row: a multiple of 16, so every vector width divides it.</param>
    /// <param name="addend">null, or a row-major row added after the chain (one rounded add: out = chain + addend[j]).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Combine<TVec, TLanes, TSink>(float* rows, nint rowStride, nint tileStride, SparseEntry* list, int count, int width,
        float* addend, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        int c = TLanes.Count, half = 4 * c;
        int j = 0;
        for (; j + 2 * half <= width; j += 2 * half)
        {
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
        for (; j < width; j += c)
        {
            nint at = (j >> 6) * tileStride + (j & 63);
            TVec a = TLanes.Zero;
            for (int t = 0; t < count; t++)
                a = TLanes.Fma(TLanes.Load(rows + list[t].Index * rowStride + at), TLanes.Broadcast(list[t].Value), a);
            if (addend != null) a = TLanes.Add(a, TLanes.Load(addend + j));
            sink.Put(j, a);
        }
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
    /// <param name="output">Element j at output + (j / 64) * outputTileStride + j % 64; holds the chains to resume.</param>
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

    /// <summary>One vector of lanes, [j, j + Count): the lanes past the last whole piece.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ResumeOne<TVec, TLanes>(float* rows, nint rowStride, nint tileStride, SparseEntry* list, int count, int j,
        float* output, nint outputTileStride)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        nint at = (j >> 6) * tileStride + (j & 63);
        float* o = output + (j >> 6) * outputTileStride + (j & 63);
        TVec a = TLanes.Load(o);
        for (int t = 0; t < count; t++)
            a = TLanes.Fma(TLanes.Load(rows + list[t].Index * rowStride + at), TLanes.Broadcast(list[t].Value), a);
        TLanes.Store(o, a);
    }
}
