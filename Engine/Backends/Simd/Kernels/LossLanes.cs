using System.Numerics;
using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Kernels;

/// <summary>
/// The loss terms and the output gradient in one pass over (z, x), vectorised across samples: the
/// activations are stored in panels of 64 samples ([panel][feature][64]), so one vector holds one
/// feature of several samples, the walk over features is contiguous, and each lane runs the
/// reference's per-sample R32 sum over features.
/// </summary>
internal static unsafe class LossLanes
{
    /// <summary>
    /// For the 64 samples of one panel, with y = (z &gt; 0 ? z : 0) and d = y - x:
    /// rowLoss[l] = R32 over i of lane = fma(I_i * d, d, lane) (lane i mod 32, then the halving tree), and with
    /// <paramref name="gz"/>: g_z[i][l] = z &gt; 0 ? GradScale_i * d : 0.
    /// </summary>
    /// <param name="z">The panel: element (i, l) at z + 64 i + l; likewise <paramref name="x"/> and <paramref name="gz"/> (null: no gradient).</param>
    /// <param name="live">Samples of the panel that exist (1 .. 64): the others get g_z = 0 and a junk loss.</param>
    /// <returns>How many g_z are nonzero, and the smallest nonzero finite |g_z| (+infinity if none).</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (int Nonzero, float Smallest) Panel<TVec, TLanes>(float* z, float* x, float* gz, int n, float* importance, float* gradScale,
        int live, float* rowLoss)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count, vectors = Workspace.Tile / w;
        TVec* acc = stackalloc TVec[32 * vectors];
        for (int e = 0; e < 32 * vectors; e++) acc[e] = TLanes.Zero;
        TVec smallest = TLanes.Broadcast(float.PositiveInfinity);
        int nonzero = 0;
        for (int i = 0; i < n; i++)
        {
            TVec importanceI = TLanes.Broadcast(importance[i]);
            TVec scaleI = TLanes.Broadcast(gradScale[i]);
            TVec* lane = acc + (i & 31) * vectors;
            nint at = (nint)i * Workspace.Tile;
            for (int v = 0; v < vectors; v++)
            {
                TVec zi = TLanes.Load(z + at + v * w);
                TVec d = TLanes.Subtract(TLanes.WherePositive(zi, zi), TLanes.Load(x + at + v * w));
                lane[v] = TLanes.Fma(TLanes.Multiply(importanceI, d), d, lane[v]);
                if (gz == null) continue;
                TVec g = TLanes.WherePositive(zi, TLanes.Multiply(scaleI, d));
                if (live - v * w < w) g = TLanes.KeepFirst(g, live - v * w);
                TLanes.Store(gz + at + v * w, g);
                nonzero += BitOperations.PopCount(TLanes.NonZeroBits(g));
                smallest = TLanes.MinMagnitude(smallest, g);
            }
        }
        for (int h = 16; h >= 1; h /= 2)
            for (int j = 0; j < h; j++)
                for (int v = 0; v < vectors; v++)
                    acc[j * vectors + v] = TLanes.Add(acc[j * vectors + v], acc[(j + h) * vectors + v]);
        for (int v = 0; v < vectors; v++) TLanes.Store(rowLoss + v * w, acc[v]);
        return (nonzero, TLanes.Smallest(smallest));
    }
}
