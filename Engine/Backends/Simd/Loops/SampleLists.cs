using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>
/// Per sample of a panel, its nonzero g_z over a block of features: the lists of the sparse g_h walk, built
/// from the block's rows of the panel (lanes are samples). The nonzeros are as good as random, so a walk over
/// their bits mispredicts about once per vector; with AVX2 each 8 x 8 square of (features, samples) is
/// transposed in registers and each sample's 8 features are appended branch-free.
/// </summary>
internal static unsafe class SampleLists
{
    /// <summary>Entries of room per sample list: a block's features and one append past them.</summary>
    public static int Room(int n) => Math.Min(Blocking.HiddenFeatures, n) + SparseAppend.Slack;

    /// <param name="panel">Element (i, l) at panel + 64 i + l, for features [i0, i1) (at most <see cref="Room"/> minus the slack).</param>
    /// <param name="i0">The block's first feature; entries carry the feature number itself (panel is addressed from feature 0).</param>
    /// <param name="i1">One past the block's last feature.</param>
    /// <param name="n">The model's features: only sizes each list's room, <see cref="Room"/>(n) entries.</param>
    /// <param name="lists">Sample l's list at lists + l * <see cref="Room"/>(n); its length goes to counts[l].</param>
    /// <param name="counts">64 ints, one per sample of the panel: zeroed, then each list's length (its nonzero g_z, in ascending feature order).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Build(float* panel, int i0, int i1, int n, SparseEntry* lists, int* counts)
    {
        int room = Room(n);
        for (int l = 0; l < Workspace.Tile; l++) counts[l] = 0;
        int i = i0;
        if (SparseAppend.CanCompress)
            for (; i + 8 <= i1; i += 8)
                for (int v = 0; v < Workspace.Tile; v += 8)
                {
                    float* r = panel + (nint)i * Workspace.Tile + v;
                    Squares.Transpose8(Vector256.Load(r), Vector256.Load(r + 64), Vector256.Load(r + 128), Vector256.Load(r + 192),
                        Vector256.Load(r + 256), Vector256.Load(r + 320), Vector256.Load(r + 384), Vector256.Load(r + 448),
                        out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
                    Append(s0, i, lists, room, counts, v);
                    Append(s1, i, lists, room, counts, v + 1);
                    Append(s2, i, lists, room, counts, v + 2);
                    Append(s3, i, lists, room, counts, v + 3);
                    Append(s4, i, lists, room, counts, v + 4);
                    Append(s5, i, lists, room, counts, v + 5);
                    Append(s6, i, lists, room, counts, v + 6);
                    Append(s7, i, lists, room, counts, v + 7);
                }
        for (; i < i1; i++)
            for (int l = 0; l < Workspace.Tile; l++)
            {
                float g = panel[(nint)i * Workspace.Tile + l];
                if (g == 0f) continue;
                SparseEntry* entry = lists + l * room + counts[l]++;
                entry->Index = i;
                entry->Value = g;
            }
    }

    /// <summary>
    /// <see cref="Build"/>'s lists from the block's masks, for sparse blocks: the work goes by nonzero, not by
    /// element (the walk over the bits mispredicts about once per row with any).
    /// </summary>
    /// <param name="panel">As for <see cref="Build"/>.</param>
    /// <param name="masks">Bit l of masks[i - i0] set iff the element (i, l) of <paramref name="panel"/> is nonzero.</param>
    /// <param name="i0">As for <see cref="Build"/>.</param>
    /// <param name="i1">As for <see cref="Build"/>.</param>
    /// <param name="n">As for <see cref="Build"/>.</param>
    /// <param name="lists">As for <see cref="Build"/>.</param>
    /// <param name="counts">As for <see cref="Build"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FromMasks(float* panel, ulong* masks, int i0, int i1, int n, SparseEntry* lists, int* counts)
    {
        int room = Room(n);
        for (int l = 0; l < Workspace.Tile; l++) counts[l] = 0;
        for (int i = i0; i < i1; i++)
            for (ulong bits = masks[i - i0]; bits != 0; bits &= bits - 1)
            {
                int l = BitOperations.TrailingZeroCount(bits);
                SparseEntry* entry = lists + l * room + counts[l]++;
                entry->Index = i;
                entry->Value = panel[(nint)i * Workspace.Tile + l];
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Append(Vector256<float> features, int first, SparseEntry* lists, int room, int* counts, int l) =>
        counts[l] += Vector256Lanes.AppendNonZero(features, first, lists + l * room + counts[l]);
}
