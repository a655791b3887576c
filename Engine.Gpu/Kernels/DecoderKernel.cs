using ILGPU;

namespace ToyModels.Gpu.Kernels;

internal struct DecoderArguments : IInstanceArguments
{
    public int FirstInstance { get; set; }
    /// <summary>Device layout: W_out is [n][m] at DecoderOffset, b at BiasOffset.</summary>
    public ArrayView<float> Parameters;
    /// <summary>[instances][batch][m].</summary>
    public ArrayView<float> H;
    /// <summary>[instances][batch][n].</summary>
    public ArrayView<float> Z;
    public int N, M, Batch, Rows, InstanceParameters, DecoderOffset, BiasOffset, HasBias;
    /// <summary>The group's work-items along rows and features (<see cref="KernelGeometry"/>).</summary>
    public int ThreadsRows, ThreadsFeatures;
}

/// <summary>
/// The decoder z = h W_out^T + b, the one dense product, tiled for shared memory.
/// </summary>
/// <remarks>
/// A group of TR x TF work-items computes a tile of 8 TR rows x 8 TF features; work-item (ty, tx) owns
/// rows ty + TR t and features tx + TF u (t, u &lt; 8) as an 8 x 8 register block of serial-k chains.
/// The k axis is staged through shared memory 8 at a time (h transposed to k-major, its rows padded by
/// 4 floats so the transposing stores spread over banks); each chain takes its terms in ascending k
/// across the k-tiles, from +0, so the bits are the reference's (docs/numerics.md: blocking over k is
/// allowed when the chain resumes in order). The last k-tile runs only over the valid k, so no padded
/// term enters a chain (fma(0, 0, -0) would turn -0 into +0); rows and features past the edges are
/// computed from zeros and not stored. The bias add is a separate rounded add after the chain.
/// Shared-memory reads are broadcasts or conflict-free; each global store row is TF consecutive floats.
/// </remarks>
internal static class DecoderKernel
{
    public const int TileK = 8;
    public const int RowPad = 4;

    /// <summary>The largest tile (rows and features) a group may have: its shared memory is allocated statically, for this size.</summary>
    public const int MaxTile = 128;

    /// <summary>
    /// Static rather than dynamic shared memory: ILGPU's OpenCL C holds dynamic shared memory in
    /// program-scope variables, which OpenCL C 1.2 compilers (POCL 3.1) reject. 8.1 KiB.
    /// </summary>
    private const int SharedFloats = TileK * (MaxTile + RowPad) + TileK * MaxTile;

    public static void Forward(DecoderArguments a)
    {
        int s = a.FirstInstance + Grid.IdxY;
        int tileRows = Block8.Size * a.ThreadsRows, tileFeatures = Block8.Size * a.ThreadsFeatures;
        int hStride = tileRows + RowPad;
        var shared = SharedMemory.Allocate<float>(SharedFloats);
        var hTile = shared.SubView(0, TileK * hStride);                       // [k][row]
        var wTile = shared.SubView(TileK * hStride, TileK * tileFeatures);    // [k][feature]

        int lid = Group.IdxX, groupSize = Group.DimX;
        int tx = lid % a.ThreadsFeatures, ty = lid / a.ThreadsFeatures;
        int featureTiles = (a.N + tileFeatures - 1) / tileFeatures;
        int firstRow = Grid.IdxX / featureTiles * tileRows;
        int firstFeature = Grid.IdxX % featureTiles * tileFeatures;
        int block = s * a.InstanceParameters;
        int wOut = block + a.DecoderOffset;
        int hs = s * a.Batch * a.M;

        Block8 acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Block8 acc4 = default, acc5 = default, acc6 = default, acc7 = default;
        for (int k0 = 0; k0 < a.M; k0 += TileK)
        {
            // Stage the k-tile: consecutive work-items read consecutive k of one row.
            for (int e = lid; e < tileRows * TileK; e += groupSize)
            {
                int rr = e / TileK, kk = e % TileK, r = firstRow + rr, k = k0 + kk;
                hTile[kk * hStride + rr] = r < a.Rows && k < a.M ? a.H[hs + r * a.M + k] : 0f;
            }
            for (int e = lid; e < tileFeatures * TileK; e += groupSize)
            {
                int ii = e / TileK, kk = e % TileK, i = firstFeature + ii, k = k0 + kk;
                wTile[kk * tileFeatures + ii] = i < a.N && k < a.M ? a.Parameters[wOut + i * a.M + k] : 0f;
            }
            Group.Barrier();
            int valid = a.M - k0 < TileK ? a.M - k0 : TileK;
            for (int kk = 0; kk < valid; kk++)
            {
                var w = Block8.Gather(wTile, kk * tileFeatures + tx, a.ThreadsFeatures);
                int h = kk * hStride + ty;
                acc0 = Block8.Fma(w, hTile[h], acc0);
                acc1 = Block8.Fma(w, hTile[h + a.ThreadsRows], acc1);
                acc2 = Block8.Fma(w, hTile[h + 2 * a.ThreadsRows], acc2);
                acc3 = Block8.Fma(w, hTile[h + 3 * a.ThreadsRows], acc3);
                acc4 = Block8.Fma(w, hTile[h + 4 * a.ThreadsRows], acc4);
                acc5 = Block8.Fma(w, hTile[h + 5 * a.ThreadsRows], acc5);
                acc6 = Block8.Fma(w, hTile[h + 6 * a.ThreadsRows], acc6);
                acc7 = Block8.Fma(w, hTile[h + 7 * a.ThreadsRows], acc7);
            }
            Group.Barrier();
        }

        int row = firstRow + ty;
        Store(a, s, block, row, firstFeature + tx, acc0);
        Store(a, s, block, row + a.ThreadsRows, firstFeature + tx, acc1);
        Store(a, s, block, row + 2 * a.ThreadsRows, firstFeature + tx, acc2);
        Store(a, s, block, row + 3 * a.ThreadsRows, firstFeature + tx, acc3);
        Store(a, s, block, row + 4 * a.ThreadsRows, firstFeature + tx, acc4);
        Store(a, s, block, row + 5 * a.ThreadsRows, firstFeature + tx, acc5);
        Store(a, s, block, row + 6 * a.ThreadsRows, firstFeature + tx, acc6);
        Store(a, s, block, row + 7 * a.ThreadsRows, firstFeature + tx, acc7);
    }

    /// <summary>z[r][i + TF u] = chain (+ b) for the features of one register row that exist.</summary>
    private static void Store(DecoderArguments a, int s, int block, int r, int i, Block8 acc)
    {
        if (r >= a.Rows) return;
        int zr = (s * a.Batch + r) * a.N;
        for (int u = 0; u < Block8.Size; u++)
        {
            int feature = i + u * a.ThreadsFeatures;
            if (feature >= a.N) return;
            float value = acc.Get(u);
            a.Z[zr + feature] = a.HasBias != 0 ? Exact.Add(value, a.Parameters[block + a.BiasOffset + feature]) : value;
        }
    }
}
