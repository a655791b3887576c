using System.Numerics;
using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>
/// The loss terms and the output gradient in one pass over (z, x), vectorised across samples: the
/// activations are stored in panels of 64 samples ([panel][feature][64]), so one vector holds one
/// feature of several samples, the walk over features is contiguous, and each lane runs the
/// reference's per-sample R32 sum over features.
/// </summary>
/// <remarks>
/// A panel's walk may be cut into blocks of features (<see cref="Rows"/>), taken in ascending order on one
/// thread: the 32 chains of each lane live in the accumulators between blocks, so no bit changes.
/// </remarks>
internal static unsafe class LossLanes
{
    /// <summary>Vectors of accumulators for one panel: 32 chains (i mod 32) of 64 lanes.</summary>
    public static int Accumulators(int width) => 32 * (Workspace.Tile / width);

    /// <summary>
    /// For the 64 samples of one panel, with y = (z &gt; 0 ? z : 0) and d = y - x:
    /// rowLoss[l] = R32 over i of lane = fma(I_i * d, d, lane) (lane i mod 32, then the halving tree), and with
    /// <paramref name="gz"/>: g_z[i][l] = z &gt; 0 ? GradScale_i * d : 0.
    /// </summary>
    /// <param name="z">The panel: element (i, l) at z + 64 i + l; likewise <paramref name="x"/> and <paramref name="gz"/> (null: no gradient).</param>
    /// <param name="x">The panel of x (the target), laid out as z; read only.</param>
    /// <param name="gz">Where g_z goes, laid out as z: all 64 lanes of features 0 .. n - 1 written (lanes from <paramref name="live"/> on get 0); null: losses only.</param>
    /// <param name="n">Features: rows 0 .. n - 1 of each panel are walked.</param>
    /// <param name="importance">The instance's I_i, n floats: feature i's weight in the loss.</param>
    /// <param name="gradScale">The instance's (float)(2 I_i / (B n)), n floats: g_z = GradScale_i * d where z &gt; 0.</param>
    /// <param name="live">Samples of the panel that exist (1 .. 64): the others get g_z = 0 and a junk loss.</param>
    /// <param name="rowLoss">64 floats, all written: sample l's loss (the sum over i of I_i d^2, not yet averaged) at rowLoss[l].</param>
    /// <returns>How many g_z are nonzero, and the smallest nonzero finite |g_z| (+infinity if none).</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (int Nonzero, float Smallest) Panel<TVec, TLanes>(float* z, float* x, float* gz, int n, float* importance, float* gradScale,
        int live, float* rowLoss)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        TVec* acc = stackalloc TVec[Accumulators(TLanes.Count)];
        Start<TVec, TLanes>(acc);
        var gradient = new GradientSummary<TVec, TLanes>();
        Rows<TVec, TLanes>(acc, z, x, gz, 0, n, importance, gradScale, live, ref gradient);
        Finish<TVec, TLanes>(acc, rowLoss);
        return (gradient.Nonzero, TLanes.Smallest(gradient.Smallest));
    }

    public static void Start<TVec, TLanes>(TVec* acc) where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        for (int e = 0; e < Accumulators(TLanes.Count); e++) acc[e] = TLanes.Zero;
    }

    /// <summary>
    /// Features [i0, i1) of the walk of <see cref="Panel"/>; g_z's count and smallest go to <paramref name="gradient"/>,
    /// and with <paramref name="masks"/> (and <paramref name="gz"/>) feature i's nonzero g_z lanes to bit l of masks[i - i0].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows<TVec, TLanes>(TVec* acc, float* z, float* x, float* gz, int i0, int i1, float* importance, float* gradScale,
        int live, ref GradientSummary<TVec, TLanes> gradient, ulong* masks = null)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count, vectors = Workspace.Tile / w;
        for (int i = i0; i < i1; i++)
        {
            TVec importanceI = TLanes.Broadcast(importance[i]);
            TVec scaleI = TLanes.Broadcast(gradScale[i]);
            TVec* lane = acc + (i & 31) * vectors;
            nint at = (nint)i * Workspace.Tile;
            ulong mask = 0;
            for (int v = 0; v < vectors; v++)
            {
                TVec zi = TLanes.Load(z + at + v * w);
                TVec d = TLanes.Subtract(TLanes.WherePositive(zi, zi), TLanes.Load(x + at + v * w));
                lane[v] = TLanes.Fma(TLanes.Multiply(importanceI, d), d, lane[v]);
                if (gz == null) continue;
                TVec g = TLanes.WherePositive(zi, TLanes.Multiply(scaleI, d));
                if (live - v * w < w) g = TLanes.KeepFirst(g, live - v * w);
                TLanes.Store(gz + at + v * w, g);
                mask |= (ulong)TLanes.NonZeroBits(g) << (v * w);
            }
            if (gz == null) continue;
            if (masks != null) masks[i - i0] = mask;
            // Late in training most rows of g_z are all zero: the smallest is looked for only in the others.
            if (mask == 0) continue;
            gradient.Nonzero += BitOperations.PopCount(mask);
            for (int v = 0; v < vectors; v++) gradient.Smallest = TLanes.MinMagnitude(gradient.Smallest, TLanes.Load(gz + at + v * w));
        }
    }

    /// <summary>The halving tree over the 32 chains of each lane, into the panel's 64 row losses.</summary>
    public static void Finish<TVec, TLanes>(TVec* acc, float* rowLoss) where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        int w = TLanes.Count, vectors = Workspace.Tile / w;
        for (int h = 16; h >= 1; h /= 2)
            for (int j = 0; j < h; j++)
                for (int v = 0; v < vectors; v++)
                    acc[j * vectors + v] = TLanes.Add(acc[j * vectors + v], acc[(j + h) * vectors + v]);
        for (int v = 0; v < vectors; v++) TLanes.Store(rowLoss + v * w, acc[v]);
    }
}

/// <summary>What a loss walk saw of g_z: how many are nonzero, and per lane the smallest nonzero finite magnitude.</summary>
internal struct GradientSummary<TVec, TLanes>() where TVec : unmanaged where TLanes : ILanes<TVec>
{
    public int Nonzero = 0;
    public TVec Smallest = TLanes.Broadcast(float.PositiveInfinity);
}
