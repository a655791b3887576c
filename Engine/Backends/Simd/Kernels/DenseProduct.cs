using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Kernels;

/// <summary>
/// The dense product C[r][l] = serial-k over k of fma(A(r, k), B[k][l], acc) (the decoder z = W_out h),
/// register- and cache-blocked, vectorised across the output lanes l only: each lane of each
/// accumulator runs exactly the reference's chain for its output element, in ascending k. Blocking
/// over k stores the partial sums in C and resumes them in order, which changes no bit.
/// </summary>
/// <remarks>
/// A is read in place through strides (element (r, k) at a + r * rowStride + k * kStride) and broadcast;
/// B rows are contiguous over the lanes. Tiles are 6 rows by 4 vectors where there are 32 vector
/// registers (AVX-512) and 6 by 2 where there are 16.
/// </remarks>
internal static unsafe class DenseProduct
{
    private const int TileRows = 6;
    /// <summary>k per block: the B panel of one tile column (KBlock x 4 vectors of 16 floats) stays in L1.</summary>
    private const int KBlock = 128;

    /// <param name="lanes">Columns of B and C: a multiple of 16.</param>
    public static void Multiply<TVec, TLanes>(float* a, nint rowStride, nint kStride, float* b, nint ldb, float* c, nint ldc,
        int rows, int lanes, int k)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int width = TLanes.Count;
        bool wide = width == 16;
        int tileVectors = wide ? 4 : 2;
        int tileLanes = tileVectors * width;
        for (int k0 = 0; k0 < k; k0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - k0);
            bool resume = k0 > 0;
            for (int l0 = 0; l0 < lanes; l0 += tileLanes)
            {
                int vectors = Math.Min(tileVectors, (lanes - l0) / width);
                float* bt = b + k0 * ldb + l0;
                for (int r0 = 0; r0 < rows; r0 += TileRows)
                {
                    int tileRows = Math.Min(TileRows, rows - r0);
                    float* at = a + r0 * rowStride + k0 * kStride;
                    float* ct = c + r0 * ldc + l0;
                    if (tileRows == TileRows && vectors == tileVectors)
                    {
                        if (wide) Tile6x4<TVec, TLanes>(at, rowStride, kStride, bt, ldb, ct, ldc, kc, resume);
                        else Tile6x2<TVec, TLanes>(at, rowStride, kStride, bt, ldb, ct, ldc, kc, resume);
                    }
                    else
                    {
                        Edge<TVec, TLanes>(at, rowStride, kStride, bt, ldb, ct, ldc, kc, resume, tileRows, vectors);
                    }
                }
            }
        }
    }

    /// <summary>Any tile smaller than a full one: one accumulator at a time, the same chain per element.</summary>
    private static void Edge<TVec, TLanes>(float* a, nint rowStride, nint kStride, float* b, nint ldb, float* c, nint ldc,
        int kc, bool resume, int rows, int vectors)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int width = TLanes.Count;
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < vectors; v++)
            {
                float* cv = c + r * ldc + v * width;
                TVec acc = resume ? TLanes.Load(cv) : TLanes.Zero;
                float* ar = a + r * rowStride;
                for (int k = 0; k < kc; k++)
                    acc = TLanes.Fma(TLanes.Broadcast(ar[k * kStride]), TLanes.Load(b + k * ldb + v * width), acc);
                TLanes.Store(cv, acc);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6x4<TVec, TLanes>(float* a, nint rowStride, nint kStride, float* b, nint ldb, float* c, nint ldc, int kc, bool resume)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count;
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc, c4 = c + 4 * ldc, c5 = c + 5 * ldc;
        TVec s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33, s40, s41, s42, s43, s50, s51, s52, s53;
        if (resume)
        {
            s00 = TLanes.Load(c0); s01 = TLanes.Load(c0 + w); s02 = TLanes.Load(c0 + 2 * w); s03 = TLanes.Load(c0 + 3 * w);
            s10 = TLanes.Load(c1); s11 = TLanes.Load(c1 + w); s12 = TLanes.Load(c1 + 2 * w); s13 = TLanes.Load(c1 + 3 * w);
            s20 = TLanes.Load(c2); s21 = TLanes.Load(c2 + w); s22 = TLanes.Load(c2 + 2 * w); s23 = TLanes.Load(c2 + 3 * w);
            s30 = TLanes.Load(c3); s31 = TLanes.Load(c3 + w); s32 = TLanes.Load(c3 + 2 * w); s33 = TLanes.Load(c3 + 3 * w);
            s40 = TLanes.Load(c4); s41 = TLanes.Load(c4 + w); s42 = TLanes.Load(c4 + 2 * w); s43 = TLanes.Load(c4 + 3 * w);
            s50 = TLanes.Load(c5); s51 = TLanes.Load(c5 + w); s52 = TLanes.Load(c5 + 2 * w); s53 = TLanes.Load(c5 + 3 * w);
        }
        else
        {
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = TLanes.Zero;
            s30 = s31 = s32 = s33 = s40 = s41 = s42 = s43 = s50 = s51 = s52 = s53 = TLanes.Zero;
        }
        float* a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride, a4 = a + 4 * rowStride, a5 = a + 5 * rowStride;
        nint ak = 0;
        for (int k = 0; k < kc; k++)
        {
            TVec b0 = TLanes.Load(b), b1 = TLanes.Load(b + w), b2 = TLanes.Load(b + 2 * w), b3 = TLanes.Load(b + 3 * w);
            TVec x = TLanes.Broadcast(a0[ak]);
            s00 = TLanes.Fma(x, b0, s00); s01 = TLanes.Fma(x, b1, s01); s02 = TLanes.Fma(x, b2, s02); s03 = TLanes.Fma(x, b3, s03);
            x = TLanes.Broadcast(a1[ak]);
            s10 = TLanes.Fma(x, b0, s10); s11 = TLanes.Fma(x, b1, s11); s12 = TLanes.Fma(x, b2, s12); s13 = TLanes.Fma(x, b3, s13);
            x = TLanes.Broadcast(a2[ak]);
            s20 = TLanes.Fma(x, b0, s20); s21 = TLanes.Fma(x, b1, s21); s22 = TLanes.Fma(x, b2, s22); s23 = TLanes.Fma(x, b3, s23);
            x = TLanes.Broadcast(a3[ak]);
            s30 = TLanes.Fma(x, b0, s30); s31 = TLanes.Fma(x, b1, s31); s32 = TLanes.Fma(x, b2, s32); s33 = TLanes.Fma(x, b3, s33);
            x = TLanes.Broadcast(a4[ak]);
            s40 = TLanes.Fma(x, b0, s40); s41 = TLanes.Fma(x, b1, s41); s42 = TLanes.Fma(x, b2, s42); s43 = TLanes.Fma(x, b3, s43);
            x = TLanes.Broadcast(a5[ak]);
            s50 = TLanes.Fma(x, b0, s50); s51 = TLanes.Fma(x, b1, s51); s52 = TLanes.Fma(x, b2, s52); s53 = TLanes.Fma(x, b3, s53);
            ak += kStride;
            b += ldb;
        }
        TLanes.Store(c0, s00); TLanes.Store(c0 + w, s01); TLanes.Store(c0 + 2 * w, s02); TLanes.Store(c0 + 3 * w, s03);
        TLanes.Store(c1, s10); TLanes.Store(c1 + w, s11); TLanes.Store(c1 + 2 * w, s12); TLanes.Store(c1 + 3 * w, s13);
        TLanes.Store(c2, s20); TLanes.Store(c2 + w, s21); TLanes.Store(c2 + 2 * w, s22); TLanes.Store(c2 + 3 * w, s23);
        TLanes.Store(c3, s30); TLanes.Store(c3 + w, s31); TLanes.Store(c3 + 2 * w, s32); TLanes.Store(c3 + 3 * w, s33);
        TLanes.Store(c4, s40); TLanes.Store(c4 + w, s41); TLanes.Store(c4 + 2 * w, s42); TLanes.Store(c4 + 3 * w, s43);
        TLanes.Store(c5, s50); TLanes.Store(c5 + w, s51); TLanes.Store(c5 + 2 * w, s52); TLanes.Store(c5 + 3 * w, s53);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6x2<TVec, TLanes>(float* a, nint rowStride, nint kStride, float* b, nint ldb, float* c, nint ldc, int kc, bool resume)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count;
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc, c4 = c + 4 * ldc, c5 = c + 5 * ldc;
        TVec s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51;
        if (resume)
        {
            s00 = TLanes.Load(c0); s01 = TLanes.Load(c0 + w);
            s10 = TLanes.Load(c1); s11 = TLanes.Load(c1 + w);
            s20 = TLanes.Load(c2); s21 = TLanes.Load(c2 + w);
            s30 = TLanes.Load(c3); s31 = TLanes.Load(c3 + w);
            s40 = TLanes.Load(c4); s41 = TLanes.Load(c4 + w);
            s50 = TLanes.Load(c5); s51 = TLanes.Load(c5 + w);
        }
        else
        {
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = s40 = s41 = s50 = s51 = TLanes.Zero;
        }
        float* a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride, a4 = a + 4 * rowStride, a5 = a + 5 * rowStride;
        nint ak = 0;
        for (int k = 0; k < kc; k++)
        {
            TVec b0 = TLanes.Load(b), b1 = TLanes.Load(b + w);
            TVec x = TLanes.Broadcast(a0[ak]);
            s00 = TLanes.Fma(x, b0, s00); s01 = TLanes.Fma(x, b1, s01);
            x = TLanes.Broadcast(a1[ak]);
            s10 = TLanes.Fma(x, b0, s10); s11 = TLanes.Fma(x, b1, s11);
            x = TLanes.Broadcast(a2[ak]);
            s20 = TLanes.Fma(x, b0, s20); s21 = TLanes.Fma(x, b1, s21);
            x = TLanes.Broadcast(a3[ak]);
            s30 = TLanes.Fma(x, b0, s30); s31 = TLanes.Fma(x, b1, s31);
            x = TLanes.Broadcast(a4[ak]);
            s40 = TLanes.Fma(x, b0, s40); s41 = TLanes.Fma(x, b1, s41);
            x = TLanes.Broadcast(a5[ak]);
            s50 = TLanes.Fma(x, b0, s50); s51 = TLanes.Fma(x, b1, s51);
            ak += kStride;
            b += ldb;
        }
        TLanes.Store(c0, s00); TLanes.Store(c0 + w, s01);
        TLanes.Store(c1, s10); TLanes.Store(c1 + w, s11);
        TLanes.Store(c2, s20); TLanes.Store(c2 + w, s21);
        TLanes.Store(c3, s30); TLanes.Store(c3 + w, s31);
        TLanes.Store(c4, s40); TLanes.Store(c4 + w, s41);
        TLanes.Store(c5, s50); TLanes.Store(c5 + w, s51);
    }
}
