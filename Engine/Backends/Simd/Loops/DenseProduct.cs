using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>Where the elements of a dense product's left operand A are: (r, k) at a + (r / 64) RowPanel + (r % 64) Row + (k / 64) KPanel + (k % 64) K.</summary>
internal readonly unsafe struct Operand(float* a, nint rowPanel, nint row, nint kPanel, nint k)
{
    public readonly float* A = a;
    public readonly nint RowPanel = rowPanel, Row = row, KPanel = kPanel, K = k;

    /// <summary>A plain matrix: (r, k) at a + r row + k k.</summary>
    public static Operand Strided(float* a, nint row, nint k) => new(a, Workspace.Tile * row, row, Workspace.Tile * k, k);

}

/// <summary>
/// The dense product C[r][l] = serial-k over k of fma(A(r, k), B[k][l], acc) (the decoder z = W_out h, and
/// g_h and gW_out when g_z is dense), register- and cache-blocked, vectorised across the output lanes l
/// only: each lane of each accumulator runs exactly the reference's chain for its output element, in
/// ascending k. Blocking over k stores the partial sums in C and resumes them in order, which changes no bit.
/// </summary>
/// <remarks>
/// A (<see cref="Operand"/>) is packed up to 512 terms of k at a time into 6-row slivers, contiguous over k (a short last
/// tile padded with zero rows that are computed but never stored), and broadcast; the lanes go in chunks of 256 under
/// each packing, and a tile's sums run 256 terms per call.
/// B and C are addressed in tiles of 64 lanes: element (k, l) of B at b + (l / 64) bPanel + k bK + l % 64 (or, in
/// strips of <see cref="TileLanes"/>, at b + (l / 64) bPanel + (l % 64 / S) bStrip + k bK + l % S), and (r, l) of C at
/// c + (l / 64) cPanel + r cRow + l % 64, which covers the panel layouts of <see cref="Workspace"/> and plain
/// row-major matrices. Tiles are 6 rows by 4 vectors where there are 32
/// vector registers (AVX-512) and 6 by 2 where there are 16.
/// </remarks>
internal static unsafe class DenseProduct
{
    /// <summary>Rows of a tile.</summary>
    public const int TileRows = 6;
    /// <summary>k per block of packing: one 64-term panel of A's k (the layouts of <see cref="Workspace"/> cut k there).</summary>
    public const int KBlock = Workspace.Tile;

    /// <summary>Blocks of k packed at once: up to 512 terms of every row of A, so a lane chunk walks them all.</summary>
    private const int PackedBlocks = 8;

    /// <summary>Terms of k packed at once (<see cref="KBlock"/> times the blocks packed).</summary>
    public const int PackedK = KBlock * PackedBlocks;

    /// <summary>
    /// Lanes per pass over the packed blocks of k: C's part under them (96 rows x 256 lanes, 96 KiB) stays in L2
    /// from one block of k to the next, where a pass over every lane of a lane group (384 KiB) went out to L3 and
    /// back once per block. At n 512, m 512 on 2 threads, interleaved step by step with the old order, the
    /// decoder's phase took 4.89-4.94 ms against 5.12-5.29.
    /// </summary>
    public const int LaneChunk = 4 * Workspace.Tile;

    /// <summary>
    /// Terms of k per call of a tile: each tile's packed sliver runs on across blocks, so the tile's sums are loaded and
    /// stored once per 256 terms rather than per 64, and its B block (256 x 16 lanes, 16 KiB) stays in L1. Interleaved
    /// step by step with runs of 64 at n 512 on 2 threads, the decoder's phase took 2-4% less (m 512, p 0.5: 4.14 ms
    /// against 4.28; m 256, p 0.5: 1.95 against 2.03).
    /// </summary>
    public const int KRun = 4 * KBlock;

    /// <summary>
    /// Lanes of a tile, S: 4 vectors where there are 32 registers (AVX-512), else 2. A tile walks its run of k down S
    /// lanes of B; held in strips of S lanes, those are one contiguous block (16 KiB for 256 terms with AVX2) that stays
    /// in L1 while the tiles of rows pass, where in rows of 64 lanes (256 bytes apart) they fall into a quarter of
    /// L1's sets and are read again from L2 by every tile. The decoder alone (measure decoder --case S, n 512 m 128,
    /// 40 repetitions a run, five runs alternating with h^T in rows): median GFLOP/s of the runs 127.5 against 109.3 on
    /// 2 threads (best 154.5 against 131.1), 65.1 against 62.7 on one.
    /// </summary>
    public static int TileLanes(int count) => count == 16 ? 4 * count : 2 * count;

    /// <summary>Floats of packing space for products of up to <paramref name="rows"/> rows.</summary>
    public static nint PackFloats(int rows) => (nint)(rows + TileRows) * PackedK;

    /// <param name="a">A: where its element (r, k) lies (<see cref="Operand"/>); read only, copied up to 512 terms of k at a time into <paramref name="pack"/>.</param>
    /// <param name="b">B: element (k, l) at b + (l / 64) bPanel + k bK + l % 64, or in strips (<paramref name="bStrip"/>); read only.</param>
    /// <param name="bPanel">Floats between B's 64-lane tiles (lanes l and l + 64 of a row): the size of a panel or tile in the layouts of <see cref="Workspace"/>.</param>
    /// <param name="bK">Floats between B's rows k and k + 1 (64 in the panels of <see cref="Workspace"/>, S in strips).</param>
    /// <param name="bStrip">0 where B's rows hold 64 lanes of a tile; else floats between B's strips of
    /// <see cref="TileLanes"/> lanes inside a tile (S k for h^T's strips).</param>
    /// <param name="c">C: element (r, l) at c + (l / 64) cPanel + r cRow + l % 64. Overwritten (the first block of k starts each
    /// sum from +0, later blocks resume it from C); rows past <paramref name="rows"/> and lanes past <paramref name="lanes"/> are not written.</param>
    /// <param name="cPanel">Floats between C's 64-lane tiles (lanes l and l + 64 of a row).</param>
    /// <param name="cRow">Floats between C's rows r and r + 1 (64 in the panels of <see cref="Workspace"/>, the row length for a row-major C).</param>
    /// <param name="rows">Rows of A and C: a short last tile of 6 is padded with zero rows that are computed but not stored.</param>
    /// <param name="lanes">Columns of B and C: a multiple of 16.</param>
    /// <param name="k">Terms per sum (A's columns, B's rows), walked in ascending order in runs of <see cref="KRun"/>; with k 0, C is left as it was.</param>
    /// <param name="pack">Room for <see cref="PackFloats"/>(rows).</param>
    /// <param name="addend">null, or per row r a value added to each finished sum as it is stored (one rounded add:
    /// C[r][l] = sum + addend[r], the decoder's bias); k must then be at least 1.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply<TVec, TLanes>(Operand a, float* b, nint bPanel, nint bK, nint bStrip, float* c, nint cPanel, nint cRow,
        int rows, int lanes, int k, float* pack, float* addend = null)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int width = TLanes.Count;
        int tileLanes = TileLanes(width), tileVectors = tileLanes / width;
        int tiles = (rows + TileRows - 1) / TileRows;
        for (int kp = 0; kp < k; kp += PackedK)
        {
            int kEnd = Math.Min(k, kp + PackedK);
            // Tile t's sliver runs over every packed term: (t, kk) at pack + (t (kEnd - kp) + kk - kp) 6.
            nint tileFloats = (nint)(kEnd - kp) * TileRows;
            for (int k0 = kp; k0 < kEnd; k0 += KBlock)
                Pack(a, pack + (nint)(k0 - kp) * TileRows, tileFloats, k0, Math.Min(KBlock, k - k0), rows, tiles);
            // Chunk by chunk of lanes, every run of k in ascending order: each element's chain is the same.
            for (int lc = 0; lc < lanes; lc += LaneChunk)
                for (int k0 = kp; k0 < kEnd; k0 += KRun)
                {
                    int kc = Math.Min(KRun, kEnd - k0);
                    bool resume = k0 > 0, last = addend != null && k0 + kc == k;
                    float* slivers = pack + (nint)(k0 - kp) * TileRows;
                    for (int l0 = lc; l0 < Math.Min(lanes, lc + LaneChunk); l0 += tileLanes)
                    {
                        int vectors = Math.Min(tileVectors, (lanes - l0) / width);
                        // l0 is a multiple of the tile's lanes, so in strips the tile starts its strip.
                        float* bt = b + (l0 >> 6) * bPanel + k0 * bK + (bStrip == 0 ? l0 & 63 : (l0 & 63) / tileLanes * bStrip);
                        float* ct = c + (l0 >> 6) * cPanel + (l0 & 63);
                        for (int t = 0; t < tiles; t++)
                        {
                            float* sliver = slivers + t * tileFloats;
                            float* cr = ct + t * TileRows * cRow;
                            int live = Math.Min(TileRows, rows - t * TileRows);
                            float* rowAddend = last ? addend + t * TileRows : null;
                            if (vectors == 4)
                            {
                                Tile4<TVec, TLanes>(sliver, bt, bK, cr, cRow, kc, resume, live, rowAddend);
                            }
                            else
                            {
                                int v = 0;
                                for (; v + 2 <= vectors; v += 2) Tile2<TVec, TLanes>(sliver, bt + v * width, bK, cr + v * width, cRow, kc, resume, live, rowAddend);
                                if (v < vectors) Tile1<TVec, TLanes>(sliver, bt + v * width, bK, cr + v * width, cRow, kc, resume, live, rowAddend);
                            }
                        }
                    }
                }
        }
    }

    /// <summary>
    /// Rows of A, terms [k0, k0 + kc) (within one 64-term panel of A), as 6-row slivers contiguous over k: tile t,
    /// step kk, row r at pack[t tileFloats + 6 kk + r]; rows past the end are zeros.
    /// </summary>
    private static void Pack(Operand a, float* pack, nint tileFloats, int k0, int kc, int rows, int tiles)
    {
        float** row = stackalloc float*[TileRows];
        nint kBase = (k0 >> 6) * a.KPanel;
        for (int t = 0; t < tiles; t++)
        {
            int live = Math.Min(TileRows, rows - t * TileRows);
            for (int r = 0; r < live; r++)
            {
                int i = t * TileRows + r;
                row[r] = a.A + (i >> 6) * a.RowPanel + (i & 63) * a.Row + kBase;
            }
            float* sliver = pack + t * tileFloats;
            if (live == TileRows)
            {
                // A whole tile, its six row pointers in registers.
                float* r0 = row[0], r1 = row[1], r2 = row[2], r3 = row[3], r4 = row[4], r5 = row[5];
                int kk = 0;
                if (a.K == 1 && Avx.IsSupported)
                    // Rows contiguous over k: eight terms of the six rows at a time, transposed in registers (term kk + j's
                    // six values are lanes 0-5 of s_j). Each store writes two lanes past its term, which the next term's
                    // store overwrites; the last term's six go as four and two, so nothing past the eight terms is touched.
                    for (; kk + 8 <= kc; kk += 8, sliver += 8 * TileRows)
                    {
                        Squares.Transpose8(Vector256.Load(r0 + kk), Vector256.Load(r1 + kk), Vector256.Load(r2 + kk), Vector256.Load(r3 + kk),
                            Vector256.Load(r4 + kk), Vector256.Load(r5 + kk), Vector256<float>.Zero, Vector256<float>.Zero,
                            out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
                        s0.Store(sliver); s1.Store(sliver + 6); s2.Store(sliver + 12); s3.Store(sliver + 18);
                        s4.Store(sliver + 24); s5.Store(sliver + 30); s6.Store(sliver + 36);
                        s7.GetLower().Store(sliver + 42);
                        sliver[46] = s7.GetElement(4);
                        sliver[47] = s7.GetElement(5);
                    }
                for (; kk < kc; kk++, sliver += TileRows)
                {
                    nint at = kk * a.K;
                    sliver[0] = r0[at]; sliver[1] = r1[at]; sliver[2] = r2[at];
                    sliver[3] = r3[at]; sliver[4] = r4[at]; sliver[5] = r5[at];
                }
                continue;
            }
            for (int kk = 0; kk < kc; kk++)
            {
                nint at = kk * a.K;
                for (int r = 0; r < live; r++) sliver[kk * TileRows + r] = row[r][at];
                for (int r = live; r < TileRows; r++) sliver[kk * TileRows + r] = 0f;
            }
        }
    }

    /// <summary>6 rows (the first <paramref name="live"/> of them real) by 4 vectors, over kc steps of k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4<TVec, TLanes>(float* a, float* b, nint bK, float* c, nint cRow, int kc, bool resume, int live, float* addend)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count;
        float* c0 = c, c1 = c + cRow, c2 = c + 2 * cRow, c3 = c + 3 * cRow, c4 = c + 4 * cRow, c5 = c + 5 * cRow;
        TVec z = TLanes.Zero;
        TVec s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z, s20 = z, s21 = z, s22 = z, s23 = z;
        TVec s30 = z, s31 = z, s32 = z, s33 = z, s40 = z, s41 = z, s42 = z, s43 = z, s50 = z, s51 = z, s52 = z, s53 = z;
        if (resume)
        {
            s00 = TLanes.Load(c0); s01 = TLanes.Load(c0 + w); s02 = TLanes.Load(c0 + 2 * w); s03 = TLanes.Load(c0 + 3 * w);
            if (live > 1) { s10 = TLanes.Load(c1); s11 = TLanes.Load(c1 + w); s12 = TLanes.Load(c1 + 2 * w); s13 = TLanes.Load(c1 + 3 * w); }
            if (live > 2) { s20 = TLanes.Load(c2); s21 = TLanes.Load(c2 + w); s22 = TLanes.Load(c2 + 2 * w); s23 = TLanes.Load(c2 + 3 * w); }
            if (live > 3) { s30 = TLanes.Load(c3); s31 = TLanes.Load(c3 + w); s32 = TLanes.Load(c3 + 2 * w); s33 = TLanes.Load(c3 + 3 * w); }
            if (live > 4) { s40 = TLanes.Load(c4); s41 = TLanes.Load(c4 + w); s42 = TLanes.Load(c4 + 2 * w); s43 = TLanes.Load(c4 + 3 * w); }
            if (live > 5) { s50 = TLanes.Load(c5); s51 = TLanes.Load(c5 + w); s52 = TLanes.Load(c5 + 2 * w); s53 = TLanes.Load(c5 + 3 * w); }
        }
        for (int k = 0; k < kc; k++)
        {
            TVec v0 = TLanes.Load(b), v1 = TLanes.Load(b + w), v2 = TLanes.Load(b + 2 * w), v3 = TLanes.Load(b + 3 * w);
            TVec x = TLanes.Broadcast(a[0]);
            s00 = TLanes.Fma(x, v0, s00); s01 = TLanes.Fma(x, v1, s01); s02 = TLanes.Fma(x, v2, s02); s03 = TLanes.Fma(x, v3, s03);
            x = TLanes.Broadcast(a[1]);
            s10 = TLanes.Fma(x, v0, s10); s11 = TLanes.Fma(x, v1, s11); s12 = TLanes.Fma(x, v2, s12); s13 = TLanes.Fma(x, v3, s13);
            x = TLanes.Broadcast(a[2]);
            s20 = TLanes.Fma(x, v0, s20); s21 = TLanes.Fma(x, v1, s21); s22 = TLanes.Fma(x, v2, s22); s23 = TLanes.Fma(x, v3, s23);
            x = TLanes.Broadcast(a[3]);
            s30 = TLanes.Fma(x, v0, s30); s31 = TLanes.Fma(x, v1, s31); s32 = TLanes.Fma(x, v2, s32); s33 = TLanes.Fma(x, v3, s33);
            x = TLanes.Broadcast(a[4]);
            s40 = TLanes.Fma(x, v0, s40); s41 = TLanes.Fma(x, v1, s41); s42 = TLanes.Fma(x, v2, s42); s43 = TLanes.Fma(x, v3, s43);
            x = TLanes.Broadcast(a[5]);
            s50 = TLanes.Fma(x, v0, s50); s51 = TLanes.Fma(x, v1, s51); s52 = TLanes.Fma(x, v2, s52); s53 = TLanes.Fma(x, v3, s53);
            a += TileRows;
            b += bK;
        }
        if (addend != null)
        {
            // The live rows' finished sums plus their addend (rows past live are never stored, nor read here).
            TVec e = TLanes.Broadcast(addend[0]);
            s00 = TLanes.Add(s00, e); s01 = TLanes.Add(s01, e); s02 = TLanes.Add(s02, e); s03 = TLanes.Add(s03, e);
            if (live > 1) { e = TLanes.Broadcast(addend[1]); s10 = TLanes.Add(s10, e); s11 = TLanes.Add(s11, e); s12 = TLanes.Add(s12, e); s13 = TLanes.Add(s13, e); }
            if (live > 2) { e = TLanes.Broadcast(addend[2]); s20 = TLanes.Add(s20, e); s21 = TLanes.Add(s21, e); s22 = TLanes.Add(s22, e); s23 = TLanes.Add(s23, e); }
            if (live > 3) { e = TLanes.Broadcast(addend[3]); s30 = TLanes.Add(s30, e); s31 = TLanes.Add(s31, e); s32 = TLanes.Add(s32, e); s33 = TLanes.Add(s33, e); }
            if (live > 4) { e = TLanes.Broadcast(addend[4]); s40 = TLanes.Add(s40, e); s41 = TLanes.Add(s41, e); s42 = TLanes.Add(s42, e); s43 = TLanes.Add(s43, e); }
            if (live > 5) { e = TLanes.Broadcast(addend[5]); s50 = TLanes.Add(s50, e); s51 = TLanes.Add(s51, e); s52 = TLanes.Add(s52, e); s53 = TLanes.Add(s53, e); }
        }
        TLanes.Store(c0, s00); TLanes.Store(c0 + w, s01); TLanes.Store(c0 + 2 * w, s02); TLanes.Store(c0 + 3 * w, s03);
        if (live > 1) { TLanes.Store(c1, s10); TLanes.Store(c1 + w, s11); TLanes.Store(c1 + 2 * w, s12); TLanes.Store(c1 + 3 * w, s13); }
        if (live > 2) { TLanes.Store(c2, s20); TLanes.Store(c2 + w, s21); TLanes.Store(c2 + 2 * w, s22); TLanes.Store(c2 + 3 * w, s23); }
        if (live > 3) { TLanes.Store(c3, s30); TLanes.Store(c3 + w, s31); TLanes.Store(c3 + 2 * w, s32); TLanes.Store(c3 + 3 * w, s33); }
        if (live > 4) { TLanes.Store(c4, s40); TLanes.Store(c4 + w, s41); TLanes.Store(c4 + 2 * w, s42); TLanes.Store(c4 + 3 * w, s43); }
        if (live > 5) { TLanes.Store(c5, s50); TLanes.Store(c5 + w, s51); TLanes.Store(c5 + 2 * w, s52); TLanes.Store(c5 + 3 * w, s53); }
    }

    /// <summary>6 rows (the first <paramref name="live"/> real) by 2 vectors: the tile where there are 16 vector registers, and AVX-512's last lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2<TVec, TLanes>(float* a, float* b, nint bK, float* c, nint cRow, int kc, bool resume, int live, float* addend)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count;
        float* c0 = c, c1 = c + cRow, c2 = c + 2 * cRow, c3 = c + 3 * cRow, c4 = c + 4 * cRow, c5 = c + 5 * cRow;
        TVec z = TLanes.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z, s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        if (resume)
        {
            s00 = TLanes.Load(c0); s01 = TLanes.Load(c0 + w);
            if (live > 1) { s10 = TLanes.Load(c1); s11 = TLanes.Load(c1 + w); }
            if (live > 2) { s20 = TLanes.Load(c2); s21 = TLanes.Load(c2 + w); }
            if (live > 3) { s30 = TLanes.Load(c3); s31 = TLanes.Load(c3 + w); }
            if (live > 4) { s40 = TLanes.Load(c4); s41 = TLanes.Load(c4 + w); }
            if (live > 5) { s50 = TLanes.Load(c5); s51 = TLanes.Load(c5 + w); }
        }
        for (int k = 0; k < kc; k++)
        {
            TVec v0 = TLanes.Load(b), v1 = TLanes.Load(b + w);
            TVec x = TLanes.Broadcast(a[0]);
            s00 = TLanes.Fma(x, v0, s00); s01 = TLanes.Fma(x, v1, s01);
            x = TLanes.Broadcast(a[1]);
            s10 = TLanes.Fma(x, v0, s10); s11 = TLanes.Fma(x, v1, s11);
            x = TLanes.Broadcast(a[2]);
            s20 = TLanes.Fma(x, v0, s20); s21 = TLanes.Fma(x, v1, s21);
            x = TLanes.Broadcast(a[3]);
            s30 = TLanes.Fma(x, v0, s30); s31 = TLanes.Fma(x, v1, s31);
            x = TLanes.Broadcast(a[4]);
            s40 = TLanes.Fma(x, v0, s40); s41 = TLanes.Fma(x, v1, s41);
            x = TLanes.Broadcast(a[5]);
            s50 = TLanes.Fma(x, v0, s50); s51 = TLanes.Fma(x, v1, s51);
            a += TileRows;
            b += bK;
        }
        if (addend != null)
        {
            TVec e = TLanes.Broadcast(addend[0]);
            s00 = TLanes.Add(s00, e); s01 = TLanes.Add(s01, e);
            if (live > 1) { e = TLanes.Broadcast(addend[1]); s10 = TLanes.Add(s10, e); s11 = TLanes.Add(s11, e); }
            if (live > 2) { e = TLanes.Broadcast(addend[2]); s20 = TLanes.Add(s20, e); s21 = TLanes.Add(s21, e); }
            if (live > 3) { e = TLanes.Broadcast(addend[3]); s30 = TLanes.Add(s30, e); s31 = TLanes.Add(s31, e); }
            if (live > 4) { e = TLanes.Broadcast(addend[4]); s40 = TLanes.Add(s40, e); s41 = TLanes.Add(s41, e); }
            if (live > 5) { e = TLanes.Broadcast(addend[5]); s50 = TLanes.Add(s50, e); s51 = TLanes.Add(s51, e); }
        }
        TLanes.Store(c0, s00); TLanes.Store(c0 + w, s01);
        if (live > 1) { TLanes.Store(c1, s10); TLanes.Store(c1 + w, s11); }
        if (live > 2) { TLanes.Store(c2, s20); TLanes.Store(c2 + w, s21); }
        if (live > 3) { TLanes.Store(c3, s30); TLanes.Store(c3 + w, s31); }
        if (live > 4) { TLanes.Store(c4, s40); TLanes.Store(c4 + w, s41); }
        if (live > 5) { TLanes.Store(c5, s50); TLanes.Store(c5 + w, s51); }
    }

    /// <summary>6 rows (the first <paramref name="live"/> real) by 1 vector: the last lanes of a product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1<TVec, TLanes>(float* a, float* b, nint bK, float* c, nint cRow, int kc, bool resume, int live, float* addend)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        TVec z = TLanes.Zero;
        TVec s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z;
        if (resume)
        {
            s0 = TLanes.Load(c);
            if (live > 1) s1 = TLanes.Load(c + cRow);
            if (live > 2) s2 = TLanes.Load(c + 2 * cRow);
            if (live > 3) s3 = TLanes.Load(c + 3 * cRow);
            if (live > 4) s4 = TLanes.Load(c + 4 * cRow);
            if (live > 5) s5 = TLanes.Load(c + 5 * cRow);
        }
        for (int k = 0; k < kc; k++)
        {
            TVec v = TLanes.Load(b);
            s0 = TLanes.Fma(TLanes.Broadcast(a[0]), v, s0);
            s1 = TLanes.Fma(TLanes.Broadcast(a[1]), v, s1);
            s2 = TLanes.Fma(TLanes.Broadcast(a[2]), v, s2);
            s3 = TLanes.Fma(TLanes.Broadcast(a[3]), v, s3);
            s4 = TLanes.Fma(TLanes.Broadcast(a[4]), v, s4);
            s5 = TLanes.Fma(TLanes.Broadcast(a[5]), v, s5);
            a += TileRows;
            b += bK;
        }
        if (addend != null)
        {
            s0 = TLanes.Add(s0, TLanes.Broadcast(addend[0]));
            if (live > 1) s1 = TLanes.Add(s1, TLanes.Broadcast(addend[1]));
            if (live > 2) s2 = TLanes.Add(s2, TLanes.Broadcast(addend[2]));
            if (live > 3) s3 = TLanes.Add(s3, TLanes.Broadcast(addend[3]));
            if (live > 4) s4 = TLanes.Add(s4, TLanes.Broadcast(addend[4]));
            if (live > 5) s5 = TLanes.Add(s5, TLanes.Broadcast(addend[5]));
        }
        TLanes.Store(c, s0);
        if (live > 1) TLanes.Store(c + cRow, s1);
        if (live > 2) TLanes.Store(c + 2 * cRow, s2);
        if (live > 3) TLanes.Store(c + 3 * cRow, s3);
        if (live > 4) TLanes.Store(c + 4 * cRow, s4);
        if (live > 5) TLanes.Store(c + 5 * cRow, s5);
    }
}
