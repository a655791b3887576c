using System.Numerics;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Kernels;

/// <summary>
/// The loss terms and the output gradient in one pass over (z, x), vectorised across samples: the
/// activations are stored transposed ([feature][sample]), so one vector holds one feature of several
/// samples and each lane runs the reference's per-sample R32 sum over features.
/// </summary>
internal static unsafe class LossLanes
{
    /// <summary>Samples per call: up to 64 (4 vectors of 16).</summary>
    public const int BlockLanes = 64;

    /// <summary>
    /// For samples r in [first, first + lanes), with y = (z &gt; 0 ? z : 0) and d = y - x:
    /// rowLoss[r] = R32 over i of lane = fma(I_i * d, d, lane) (lane i mod 32, then the halving tree);
    /// with <paramref name="gzT"/>: g_z[i][r] = z &gt; 0 ? GradScale_i * d : 0, and the nonzero g_z of each
    /// sample appended, by ascending feature, to its sparse row (index, value) of capacity n.
    /// </summary>
    /// <param name="lanes">A multiple of the vector width, at most <see cref="BlockLanes"/>.</param>
    /// <param name="rows">Samples that exist: lanes at or past it get g_z = 0 and no entries.</param>
    /// <param name="rowLoss">Indexed by sample; lanes past <paramref name="rows"/> receive junk.</param>
    /// <returns>The number of nonzero g_z written.</returns>
    public static int Block<TVec, TLanes>(float* zT, float* xT, nint ldb, int n, float* importance, float* gradScale,
        int first, int lanes, int rows, float* rowLoss, float* gzT, int* gzIndex, float* gzValue, int* gzCount)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count, vectors = lanes / w;
        TVec* acc = stackalloc TVec[32 * vectors];
        for (int e = 0; e < 32 * vectors; e++) acc[e] = TLanes.Zero;
        int* counts = stackalloc int[BlockLanes];
        for (int r = 0; r < BlockLanes; r++) counts[r] = 0;
        int live = rows - first;
        for (int i = 0; i < n; i++)
        {
            TVec importanceI = TLanes.Broadcast(importance[i]);
            TVec scaleI = TLanes.Broadcast(gradScale[i]);
            TVec* lane = acc + (i & 31) * vectors;
            nint row = i * ldb + first;
            for (int v = 0; v < vectors; v++)
            {
                TVec z = TLanes.Load(zT + row + v * w);
                TVec d = TLanes.Subtract(TLanes.WherePositive(z, z), TLanes.Load(xT + row + v * w));
                lane[v] = TLanes.Fma(TLanes.Multiply(importanceI, d), d, lane[v]);
                if (gzT == null) continue;
                TVec g = TLanes.WherePositive(z, TLanes.Multiply(scaleI, d));
                if (live - v * w < w) g = TLanes.KeepFirst(g, live - v * w);
                float* gi = gzT + row + v * w;
                TLanes.Store(gi, g);
                uint bits = TLanes.NonZeroBits(g);
                while (bits != 0)
                {
                    int l = BitOperations.TrailingZeroCount(bits);
                    int r = v * w + l;
                    nint at = (nint)(first + r) * n + counts[r]++;
                    gzIndex[at] = i;
                    gzValue[at] = gi[l];
                    bits &= bits - 1;
                }
            }
        }
        for (int h = 16; h >= 1; h /= 2)
            for (int j = 0; j < h; j++)
                for (int v = 0; v < vectors; v++)
                    acc[j * vectors + v] = TLanes.Add(acc[j * vectors + v], acc[(j + h) * vectors + v]);
        for (int v = 0; v < vectors; v++) TLanes.Store(rowLoss + first + v * w, acc[v]);
        int nonzero = 0;
        if (gzT != null)
            for (int r = 0; r < Math.Min(lanes, live); r++)
            {
                gzCount[first + r] = counts[r];
                nonzero += counts[r];
            }
        return nonzero;
    }
}
