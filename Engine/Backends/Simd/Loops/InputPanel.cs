using System.Runtime.InteropServices;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>
/// The dense x^T panel (feature-major, 64 sample lanes) kept in step with the sparse rows of its samples: it holds
/// nonzeros only where one of those rows lists an entry, so a new batch clears the old entries and writes the new.
/// </summary>
internal static unsafe class InputPanel
{
    private const int Tile = Workspace.Tile;

    /// <summary>Features per block of <see cref="Rebuild"/>: 64 x 64 lanes x 4 B = 16 KiB, so a block's scattered stores stay in L1.</summary>
    private const int BlockFeatures = 64;

    /// <summary>
    /// Whether the whole panel is better rewritten than patched entry by entry: a scattered store to a 128 KiB
    /// panel misses L1, while a rewrite clears every float and walks every row once per block. On the rug grid's
    /// n 512 a density of 1/16 parts p 0.026 (patched: no slower than before) from p 0.135 (rewritten: faster).
    /// </summary>
    public static bool Rewrites(long entries, int n) => entries >= 4L * n;

    /// <summary>Zeroes the panel's entries listed in the rows of lanes 0 .. <paramref name="live"/> - 1 (row l at rows + l stride).</summary>
    public static void Clear(float* xT, SparseEntry* rows, nint stride, int* counts, int live)
    {
        for (int l = 0; l < live; l++)
        {
            SparseEntry* row = rows + l * stride;
            for (int e = 0; e < counts[l]; e++) xT[(nint)row[e].Index * Tile + l] = 0f;
        }
    }

    /// <summary>Writes the entries of the rows of lanes 0 .. <paramref name="live"/> - 1 into the panel (zero elsewhere already).</summary>
    public static void Scatter(float* xT, SparseEntry* rows, nint stride, int* counts, int live)
    {
        for (int l = 0; l < live; l++)
        {
            SparseEntry* row = rows + l * stride;
            for (int e = 0; e < counts[l]; e++) xT[(nint)row[e].Index * Tile + l] = row[e].Value;
        }
    }

    /// <summary>
    /// The whole panel of <paramref name="n"/> features from the rows of lanes 0 .. <paramref name="live"/> - 1, block by
    /// block of features: each block zeroed, then every row's entries in it (rows ascend, so a cursor per lane
    /// walks each row once). Lanes from <paramref name="live"/> on are left zero.
    /// </summary>
    public static void Rebuild(float* xT, int n, SparseEntry* rows, nint stride, int* counts, int live)
    {
        int* cursor = stackalloc int[Tile];
        for (int l = 0; l < live; l++) cursor[l] = 0;
        for (int i0 = 0; i0 < n; i0 += BlockFeatures)
        {
            int i1 = Math.Min(i0 + BlockFeatures, n);
            NativeMemory.Clear(xT + (nint)i0 * Tile, (nuint)(i1 - i0) * Tile * sizeof(float));
            for (int l = 0; l < live; l++)
            {
                SparseEntry* row = rows + l * stride;
                int e = cursor[l], count = counts[l];
                for (; e < count && row[e].Index < i1; e++) xT[(nint)row[e].Index * Tile + l] = row[e].Value;
                cursor[l] = e;
            }
        }
    }
}
