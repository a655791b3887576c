using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// Samples with no active feature decoded once. Such a sample has h = W_in x = 0 (every chain of the encoder starts
/// at +0 and takes no entry), so every one of them has the same h^T column, and the decoder, whose lanes are
/// independent, gives each the same z. At small p they are most of the batch ((1 - p)^n: 60% at n 512, p 0.001), and
/// the decoder is most of such a step. So the decoder runs over the kept samples only: those with an entry, and
/// the first empty sample (the representative), in ascending order, their h^T columns packed to the front
/// (<see cref="Plan"/>, <see cref="KeptRows"/>); then each z^T row is spread back in place (<see cref="Spread"/>),
/// every empty sample taking the representative's z. The bits are those of decoding every sample.
/// The backward pass leaves them out too, whether or not they were decoded once: their g_h is not computed (only
/// gW_in reads g_h, and only where x != 0), and the sparse gW_out walk drops their terms (h = +0) where
/// <see cref="BackwardPlan.SkipsEmptySamples"/> proves that exact. Early in training, when the bias is positive,
/// their g_z is not zero, and those terms were most of the backward pass at p 0.001.
/// </summary>
internal static unsafe class EmptySamples
{
    /// <summary>
    /// The cost of spreading one element of z^T back, in multiply-adds of the decoder: mostly the traffic of a second
    /// pass over z^T. Measured at n 512, B 1024, p 0.001 (60% of the samples empty, 9 of 16 panels saved) on 2 Zen 3
    /// threads, the decoder phase with and without, interleaved step by step: 2.24 against 4.34 ms at m 512, 0.77
    /// against 1.17 at m 128, and 0.331 against 0.345 at m 51, where the spreading (about 0.18 ms) eats what the
    /// product saves: 32 keeps m 51 out at that share and takes m 77 in.
    /// </summary>
    public const int SpreadCost = 32;

    /// <summary>
    /// Whether decoding only <paramref name="kept"/> of the <paramref name="rows"/> samples pays: the product runs over
    /// whole panels of 64, so it saves the panels it drops, m multiply-adds per feature and lane, and spreading z back
    /// costs about <see cref="SpreadCost"/> per feature and lane of the batch.
    /// </summary>
    public static bool Worth(int rows, int kept, int m)
    {
        long lanes = Workspace.RoundUp(rows, Workspace.Tile), saved = lanes - Workspace.RoundUp(kept, Workspace.Tile);
        return saved > 0 && saved * m >= SpreadCost * lanes;
    }

    /// <summary>Whether one of instance s's first <paramref name="rows"/> samples (x as its sparse rows now hold it) has no active feature.</summary>
    public static bool Any(Workspace w, int s, int rows) => new ReadOnlySpan<int>(w.XCountOf(s), rows).IndexOf(0) >= 0;

    /// <summary>
    /// Instance s's plan for its first <paramref name="rows"/> samples (x as its sparse rows now hold it): where each
    /// panel's kept samples start among the kept, and per lane of the panels (padding lanes too, whose h^T is zeroed
    /// as an empty sample's is) which kept sample's z it takes. Sets <see cref="Workspace.Kept"/>: how many are kept,
    /// or 0 when every sample is decoded (no empty sample, or too few to pay).
    /// </summary>
    /// <param name="w">The workspace, whose sparse rows of x are written.</param>
    /// <param name="s">The instance.</param>
    /// <param name="rows">The samples of the batch in the rows.</param>
    /// <param name="always">null: when it pays (<see cref="Worth"/>); true: whenever there is an empty sample; false: never.</param>
    public static void Plan(Workspace w, int s, int rows, bool? always)
    {
        int* counts = w.XCountOf(s);
        int first = 0;
        while (first < rows && counts[first] != 0) first++;
        int kept = first == rows ? rows : first + 1;
        for (int b = first + 1; b < rows; b++)
            if (counts[b] != 0) kept++;
        if (first == rows || !(always ?? Worth(rows, kept, w.M)))
        {
            w.Kept[s] = 0;
            return;
        }
        w.Kept[s] = kept;
        int* start = w.KeptStartOf(s), column = w.KeptColumnOf(s);
        int next = 0, lanes = Workspace.RoundUp(rows, Workspace.Tile);
        for (int b = 0; b < lanes; b++)
        {
            if (b % Workspace.Tile == 0) start[b / Workspace.Tile] = next;
            column[b] = b == first || b < rows && counts[b] != 0 ? next++ : first;
        }
        start[lanes / Workspace.Tile] = next;
    }

    /// <summary>
    /// The samples of panel p that are kept, in ascending order, into <paramref name="samples"/>; returns how many.
    /// A sample is kept where its column is the next kept one: an empty sample other than the representative takes
    /// the representative's column, which an earlier sample (the representative itself) already took.
    /// </summary>
    public static int KeptRows(Workspace w, int s, int p, int rows, int* samples)
    {
        int* start = w.KeptStartOf(s), column = w.KeptColumnOf(s);
        int b0 = p * Workspace.Tile, b1 = Math.Min(b0 + Workspace.Tile, rows), next = start[p], count = 0;
        for (int b = b0; b < b1; b++)
            if (column[b] == next)
            {
                samples[count++] = b;
                next++;
            }
        return count;
    }

    /// <summary>
    /// z^T rows [i0, i1) of instance s from the kept samples' columns (where the decoder left them) to every lane
    /// of the first <paramref name="rows"/> samples' panels. In place: panels, and lanes in each, in descending order,
    /// each lane taking a column at or below its own that no lane has yet overwritten. A panel at a time, its rows
    /// in turn (one lane map serves them all), so the rows written and read stay in L1; a panel whose last lane
    /// keeps its own column (no empty sample before it but the representative) keeps all of them and is skipped.
    /// </summary>
    /// <param name="w">The workspace.</param>
    /// <param name="s">The instance.</param>
    /// <param name="i0">The first row (feature) of z^T.</param>
    /// <param name="i1">Past the last row.</param>
    /// <param name="rows">The samples of the batch.</param>
    /// <param name="gathers">Whether to take 8 lanes a time with AVX2's gather (the instruction set has it), or one by one.</param>
    public static void Spread(Workspace w, int s, int i0, int i1, int rows, bool gathers)
    {
        int* column = w.KeptColumnOf(s);
        nint stride = w.FeaturePanel;
        int panels = StepState.Panels(rows);
        // Offsets from a row's start in panel 0: as ints (the gather's), which hold while the panels span fewer than 2^31 floats.
        bool gather = gathers && Avx2.IsSupported && panels * stride <= int.MaxValue;
        int* source = stackalloc int[Workspace.Tile];
        float* zT = w.FeaturePanelOf(w.ZT, s, 0);
        for (int p = panels - 1; p >= 0; p--)
        {
            int b0 = p * Workspace.Tile;
            if (column[b0 + Workspace.Tile - 1] == b0 + Workspace.Tile - 1) break;
            for (int l = 0; l < Workspace.Tile; l++)
            {
                int c = column[b0 + l];
                source[l] = (int)((c >> 6) * stride + (c & 63));
            }
            for (int i = i0; i < i1; i++)
            {
                float* from = zT + (nint)i * Workspace.Tile, to = from + p * stride;
                if (gather)
                    // 8 lanes at a time, each gathered whole before it is stored (its sources may be lanes of its own).
                    for (int l = Workspace.Tile - 8; l >= 0; l -= 8)
                        Avx2.GatherVector256(from, Vector256.Load(source + l), 4).Store(to + l);
                else
                    for (int l = Workspace.Tile - 1; l >= 0; l--) to[l] = from[source[l]];
            }
        }
    }
}
