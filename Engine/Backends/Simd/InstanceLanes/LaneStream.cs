using System.Numerics;
using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// Data stream v1 (<see cref="DataStream"/>) for all instances of a group at once. The mask words of a
/// (block q, sample) counter are the same counter under each lane's own key, so one vectorised Philox
/// call with a key per lane gives the mask bits of 4 features for every instance of the group, already
/// in the group's lane order: no per-instance counter bookkeeping. The value words (one Philox call per
/// active feature) are then computed per instance, many active features per call.
/// </summary>
/// <remarks>
/// A group's lanes are two halves of <c>TLanes.WordCount</c> Philox lanes (a: lanes 0 .., b: the rest),
/// since a float vector holds twice as many lanes as a vector of 64-bit Philox words. Philox round 0
/// of a mask counter (q, sample, step, stream) is computed on scalars: its products M0 q and M1 step do
/// not depend on the key, so only the key's XOR is left per lane.
/// </remarks>
internal static unsafe class LaneStream<TWords, TLanes> where TWords : unmanaged where TLanes : IWordLanes<TWords>
{
    /// <summary>Philox lanes per half group.</summary>
    private static int Half => TLanes.WordCount;

    /// <summary>ulongs of a group's key schedule: [round][k0 of a, k0 of b, k1 of a, k1 of b][Half].</summary>
    public static int ScheduleLength => Philox.Rounds * 4 * Half;

    /// <summary>ulongs of a group's thresholds: [a, b][Half].</summary>
    public static int ThresholdLength => 2 * Half;

    /// <summary>
    /// Fills a group's key schedule (round t: k0 + t W0 and k1 + t W1 per lane) and thresholds from its
    /// instances' seeds and thresholds. Lanes without an instance get threshold 0: no feature is ever active.
    /// </summary>
    public static void Prepare(ulong* schedule, ulong* thresholds, ReadOnlySpan<ulong> seeds, ReadOnlySpan<ulong> threshold)
    {
        for (int l = 0; l < 2 * Half; l++)
        {
            var (k0, k1) = l < seeds.Length ? Philox.Key(seeds[l]) : (0u, 0u);
            int half = l / Half, lane = l % Half;
            for (int t = 0; t < Philox.Rounds; t++)
            {
                schedule[(t * 4 + half) * Half + lane] = unchecked(k0 + (uint)t * Philox.W0);
                schedule[(t * 4 + 2 + half) * Half + lane] = unchecked(k1 + (uint)t * Philox.W1);
            }
            thresholds[l] = l < threshold.Length ? threshold[l] : 0;
        }
    }

    /// <summary>
    /// x of every instance of the group for samples firstSample .. firstSample + rows - 1 into rows 0 .. rows - 1
    /// of <paramref name="x"/> (panels, <see cref="Panels"/>), which the caller has cleared.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Generate(float* x, int rows, int n, int lanes, long firstSample, uint step, bool evaluation,
        ulong* schedule, ulong* thresholds, ReadOnlySpan<ulong> seeds, StreamScratch scratch)
    {
        uint maskStream = evaluation ? DataStream.EvalMask : DataStream.TrainMask;
        int blocks = (n + 3) / 4;
        int chunkRows = StreamScratch.PassRows(n);
        TWords* perBlock = (TWords*)scratch.Blocks; // [q][a2 of a, a2 of b, a3]: round 0's key-free part, per block
        TWords k1a = TLanes.Load(schedule + 2 * Half), k1b = TLanes.Load(schedule + 3 * Half);
        for (int q = 0; q < blocks; q++)
        {
            ulong p0 = (ulong)Philox.M0 * (uint)q;
            TWords hi = TLanes.Broadcast((uint)(p0 >> 32) ^ maskStream);
            perBlock[3 * q] = TLanes.Xor(hi, k1a);
            perBlock[3 * q + 1] = TLanes.Xor(hi, k1b);
            perBlock[3 * q + 2] = TLanes.Broadcast((uint)p0);
        }
        for (int first = 0; first < rows; first += chunkRows)
        {
            int here = Math.Min(chunkRows, rows - first);
            Masks(first, here, n, firstSample, step, schedule, thresholds, perBlock, scratch.Masks);
            Lists(first, here, n, lanes, firstSample, scratch);
            for (int l = 0; l < lanes && l < seeds.Length; l++)
                Values(x, l, step, evaluation, seeds[l], scratch);
        }
    }

    /// <summary>
    /// The active bits of rows first .. first + rows - 1 for every lane at once, into masks[row - first][q]: bit 2 Half k + l
    /// is set iff feature 4q + k is active in lane l. One counter (both halves: two Philox chains) per iteration: more
    /// chains would not fit AVX2's 16 registers, and out-of-order execution overlaps consecutive counters anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Masks(int first, int rows, int n, long firstSample, uint step, ulong* schedule, ulong* thresholds, TWords* perBlock, ulong* masks)
    {
        int blocks = (n + 3) / 4;
        TWords m0 = TLanes.Broadcast(Philox.M0), m1 = TLanes.Broadcast(Philox.M1);
        ulong p1 = (ulong)Philox.M1 * step;
        TWords lo1 = TLanes.Broadcast((uint)p1);
        TWords k0a = TLanes.Load(schedule), k0b = TLanes.Load(schedule + Half);
        for (int r = 0; r < rows; r++)
        {
            TWords s = TLanes.Broadcast((uint)(p1 >> 32) ^ (uint)(firstSample + first + r));
            TWords sa = TLanes.Xor(s, k0a), sb = TLanes.Xor(s, k0b);
            for (int q = 0; q < blocks; q++)
            {
                // The counter after round 0: (hi(M1 step) ^ sample ^ k0, lo(M1 step), hi(M0 q) ^ stream ^ k1, lo(M0 q)).
                TWords a0 = sa, a1 = lo1, a2 = perBlock[3 * q], a3 = perBlock[3 * q + 2];
                TWords b0 = sb, b1 = lo1, b2 = perBlock[3 * q + 1], b3 = a3;
                ulong* k = schedule + 4 * Half;
                for (int t = 1; t < Philox.Rounds; t++, k += 4 * Half)
                    Round(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3, m0, m1, k);
                ulong keep = 4 * q + 4 > n ? (1UL << (n - 4 * q) * 2 * Half) - 1 : ulong.MaxValue;
                masks[r * blocks + q] = Active(a0, a1, a2, a3, b0, b1, b2, b3, thresholds) & keep;
            }
        }
    }

    /// <summary>Bit 2 Half k + l: word k of lane l (halves a, b) is below the lane's threshold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Active(TWords a0, TWords a1, TWords a2, TWords a3, TWords b0, TWords b1, TWords b2, TWords b3, ulong* thresholds)
    {
        TWords ta = TLanes.Load(thresholds), tb = TLanes.Load(thresholds + Half);
        return (ulong)(TLanes.BelowEach(a0, ta) | TLanes.BelowEach(b0, tb) << Half)
        | (ulong)(TLanes.BelowEach(a1, ta) | TLanes.BelowEach(b1, tb) << Half) << 2 * Half
        | (ulong)(TLanes.BelowEach(a2, ta) | TLanes.BelowEach(b2, tb) << Half) << 4 * Half
        | (ulong)(TLanes.BelowEach(a3, ta) | TLanes.BelowEach(b3, tb) << Half) << 6 * Half;
    }

    /// <summary>
    /// Each active (feature, sample) of the masks onto its lane's list. A pass of its own: the exit of the loop
    /// over a block's bits is unpredictable, and here a mispredicted exit throws away no Philox work.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lists(int first, int rows, int n, int lanes, long firstSample, StreamScratch scratch)
    {
        int blocks = (n + 3) / 4, capacity = scratch.Capacity;
        int* count = scratch.Count;
        for (int l = 0; l < lanes; l++) count[l] = 0;
        ulong* feature = scratch.Feature, sample = scratch.Sample;
        nint* offset = scratch.Offset;
        ulong* masks = scratch.Masks;
        uint span = (uint)(2 * Half); // bits per word of a mask: a power of 2
        nint featureStep = (nint)Panels.Rows * lanes;
        for (int r = 0; r < rows; r++)
        {
            uint s = (uint)(firstSample + first + r);
            nint row = Panels.Offset(first + r, 0, n, lanes);
            ulong* mask = masks + (nint)r * blocks;
            for (int q = 0; q < blocks; q++)
            {
                ulong active = mask[q];
                while (active != 0)
                {
                    uint bit = (uint)BitOperations.TrailingZeroCount(active);
                    active &= active - 1;
                    uint l = bit % span, i = 4 * (uint)q + bit / span;
                    nint at = (nint)(l * (uint)capacity) + count[l]++;
                    feature[at] = i;
                    sample[at] = s;
                    offset[at] = row + (nint)i * featureStep + (nint)l;
                }
            }
        }
    }

    /// <summary>Value words of lane <paramref name="lane"/>'s active features, 2 Half per step (two Philox chains), written into x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Values(float* x, int lane, uint step, bool evaluation, ulong seed, StreamScratch scratch)
    {
        int count = scratch.Count[lane];
        if (count == 0) return;
        var (k0, k1) = Philox.Key(seed);
        TWords* keys = stackalloc TWords[4 * Philox.Rounds];
        for (int t = 0; t < Philox.Rounds; t++)
        {
            keys[4 * t] = keys[4 * t + 1] = TLanes.Broadcast(unchecked(k0 + (uint)t * Philox.W0));
            keys[4 * t + 2] = keys[4 * t + 3] = TLanes.Broadcast(unchecked(k1 + (uint)t * Philox.W1));
        }
        TWords m0 = TLanes.Broadcast(Philox.M0), m1 = TLanes.Broadcast(Philox.M1);
        TWords stepWord = TLanes.Broadcast(step);
        TWords stream = TLanes.Broadcast(evaluation ? DataStream.EvalValue : DataStream.TrainValue);
        ulong* feature = scratch.Feature + lane * scratch.Capacity, sample = scratch.Sample + lane * scratch.Capacity;
        nint* offset = scratch.Offset + lane * scratch.Capacity;
        ulong* words = stackalloc ulong[2 * Half];
        for (int e0 = 0; e0 < count; e0 += 2 * Half)
        {
            // Past count the lists hold junk (they have slack): computed, never stored.
            TWords a0 = TLanes.Load(feature + e0), a1 = TLanes.Load(sample + e0), a2 = stepWord, a3 = stream;
            TWords b0 = TLanes.Load(feature + e0 + Half), b1 = TLanes.Load(sample + e0 + Half), b2 = stepWord, b3 = stream;
            ulong* k = (ulong*)keys;
            for (int t = 0; t < Philox.Rounds; t++, k += 4 * Half)
                Round(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3, m0, m1, k);
            *(TWords*)words = a0;
            *(TWords*)(words + Half) = b0;
            int here = Math.Min(2 * Half, count - e0);
            for (int t = 0; t < here; t++) x[offset[e0 + t]] = DataStream.Value((uint)words[t]);
        }
    }

    /// <summary>One Philox round on the two halves, each lane with its own key: keys at k as [k0 a, k0 b, k1 a, k1 b][Half].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref TWords a0, ref TWords a1, ref TWords a2, ref TWords a3, ref TWords b0, ref TWords b1, ref TWords b2, ref TWords b3,
        TWords m0, TWords m1, ulong* k)
    {
        TWords pa0 = TLanes.MultiplyLow32(m0, a0), pb0 = TLanes.MultiplyLow32(m0, b0);
        TWords pa1 = TLanes.MultiplyLow32(m1, a2), pb1 = TLanes.MultiplyLow32(m1, b2);
        // The key is XORed into the old word first, off the chain of dependent multiplies.
        a0 = TLanes.Xor(TLanes.ShiftRight32(pa1), TLanes.Xor(a1, TLanes.Load(k)));
        b0 = TLanes.Xor(TLanes.ShiftRight32(pb1), TLanes.Xor(b1, TLanes.Load(k + Half)));
        a2 = TLanes.Xor(TLanes.ShiftRight32(pa0), TLanes.Xor(a3, TLanes.Load(k + 2 * Half)));
        b2 = TLanes.Xor(TLanes.ShiftRight32(pb0), TLanes.Xor(b3, TLanes.Load(k + 3 * Half)));
        a1 = pa1;
        b1 = pb1;
        a3 = pa0;
        b3 = pb0;
    }
}

/// <summary>
/// One thread's room for <see cref="LaneStream{TWords, TLanes}"/>: the active bits of one pass of rows, per lane
/// the active features of the pass (feature, sample, where x's element is), and round 0's key-free words per block.
/// </summary>
internal sealed unsafe class StreamScratch
{
    /// <summary>Elements (rows x n) generated per pass: bounds the lists.</summary>
    public const int ChunkElements = 2048;

    /// <summary>Entries past a list's end that a step of <see cref="LaneStream{TWords, TLanes}"/>'s values reads (AVX-512: 32).</summary>
    public const int Slack = 32;

    /// <summary>Rows of one pass for n features.</summary>
    public static int PassRows(int n) => Math.Max(1, ChunkElements / n);

    public required int Capacity { get; init; }   // entries per lane, slack included
    public required int* Count { get; init; }      // [lanes]
    public required ulong* Feature { get; init; }  // [lanes][Capacity]
    public required ulong* Sample { get; init; }   // [lanes][Capacity]
    public required nint* Offset { get; init; }    // [lanes][Capacity]
    public required byte* Blocks { get; init; }    // [blocks][3] word vectors
    public required ulong* Masks { get; init; }    // [rows of a pass][blocks]: active bits
}
