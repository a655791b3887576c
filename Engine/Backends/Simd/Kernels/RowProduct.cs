using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Kernels;

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
/// The list holds only nonzero values: the reference skips exact zeros, and so must we.
/// </remarks>
internal static unsafe class RowProduct
{
    /// <param name="rows">Row r of the matrix starts at rows + r * ld.</param>
    /// <param name="width">Lanes per row: a multiple of 16, so every vector width divides it.</param>
    /// <param name="addend">null, or a row added after the chain (one rounded add: out = chain + addend[j]).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Combine<TVec, TLanes, TSink>(float* rows, nint ld, int* index, float* value, int count, int width, float* addend, ref TSink sink)
        where TVec : unmanaged where TLanes : ILanes<TVec> where TSink : struct, IRowSink<TVec>
    {
        int c = TLanes.Count;
        int j = 0;
        for (; j + 4 * c <= width; j += 4 * c)
        {
            TVec a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero;
            for (int t = 0; t < count; t++)
            {
                float* w = rows + index[t] * ld + j;
                TVec x = TLanes.Broadcast(value[t]);
                a0 = TLanes.Fma(TLanes.Load(w), x, a0);
                a1 = TLanes.Fma(TLanes.Load(w + c), x, a1);
                a2 = TLanes.Fma(TLanes.Load(w + 2 * c), x, a2);
                a3 = TLanes.Fma(TLanes.Load(w + 3 * c), x, a3);
            }
            if (addend != null)
            {
                a0 = TLanes.Add(a0, TLanes.Load(addend + j));
                a1 = TLanes.Add(a1, TLanes.Load(addend + j + c));
                a2 = TLanes.Add(a2, TLanes.Load(addend + j + 2 * c));
                a3 = TLanes.Add(a3, TLanes.Load(addend + j + 3 * c));
            }
            sink.Put(j, a0);
            sink.Put(j + c, a1);
            sink.Put(j + 2 * c, a2);
            sink.Put(j + 3 * c, a3);
        }
        for (; j < width; j += c)
        {
            TVec a = TLanes.Zero;
            for (int t = 0; t < count; t++)
                a = TLanes.Fma(TLanes.Load(rows + index[t] * ld + j), TLanes.Broadcast(value[t]), a);
            if (addend != null) a = TLanes.Add(a, TLanes.Load(addend + j));
            sink.Put(j, a);
        }
    }
}
