using System.Numerics;
using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// Data stream v1 (<see cref="DataStream"/>) for all instances of a group at once. The mask words of a
/// (block q, sample) counter are the same counter under each lane's own key, so one vectorised Philox
/// call with a key per lane gives the mask bits of 4 features for every instance of the group, already
/// in the group's lane order: no per-instance counter bookkeeping. The active (feature, sample, lane) of
/// all lanes then go onto one list, and their value words (one Philox call each) are computed many at a
/// time, each vector lane with the key of the instance its entry belongs to.
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
        uint* keys = stackalloc uint[2 * Lanes]; // k0 of each lane, then k1 of each lane: the value words' keys
        for (int l = 0; l < Lanes; l++)
            (keys[l], keys[Lanes + l]) = l < seeds.Length ? Philox.Key(seeds[l]) : (0u, 0u);
        for (int first = 0; first < rows; first += chunkRows)
        {
            int here = Math.Min(chunkRows, rows - first);
            Masks(first, here, n, firstSample, step, schedule, thresholds, perBlock, scratch.Masks);
            int count = Entries(here, blocks, scratch.Masks, scratch.Entries);
            Values(x + Panels.Offset(first, 0, n, lanes), n, lanes, count, firstSample + first, step, evaluation, keys, scratch.Entries);
        }
    }

    /// <summary>Lanes of a mask word's blocks (2 Half, a power of 2 up to 16): the entries' key tables are this long.</summary>
    private static int Lanes => 2 * Half;

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

    /// <summary>Active entries a list step writes whether or not they exist (no branch for up to this many per mask word).</summary>
    private const int Unconditional = 4;

    /// <summary>
    /// Each active (lane, feature, row) of <paramref name="rows"/> rows of masks onto one list, as bit | q &lt;&lt; 6 | row &lt;&lt; 14
    /// (bit: 2 Half k + l of the mask word of block q). Branch-free up to <see cref="Unconditional"/> active bits per word (a
    /// loop exit per word would mispredict about once a word): the first slots are written always, junk past the word's
    /// count overwritten by the next word's entries or left past the list's end. Returns the list's length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Entries(int rows, int blocks, ulong* masks, ulong* entries)
    {
        int count = 0;
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < blocks; q++)
            {
                ulong active = masks[r * blocks + q], basis = (ulong)(uint)(q << 6 | r << 14);
                int here = BitOperations.PopCount(active);
                ulong* at = entries + count;
                at[0] = basis | (uint)BitOperations.TrailingZeroCount(active);
                active &= active - 1;
                at[1] = basis | (uint)BitOperations.TrailingZeroCount(active);
                active &= active - 1;
                at[2] = basis | (uint)BitOperations.TrailingZeroCount(active);
                active &= active - 1;
                at[3] = basis | (uint)BitOperations.TrailingZeroCount(active);
                active &= active - 1;
                for (at += Unconditional; active != 0; active &= active - 1) *at++ = basis | (uint)BitOperations.TrailingZeroCount(active);
                count += here;
            }
        return count;
    }

    /// <summary>
    /// The value of each entry (<see cref="Entries"/>) of a pass whose row 0 is sample <paramref name="firstSample"/>, into x
    /// (from the pass's first row): 2 Half entries per step, two Philox chains, each vector lane with its entry's key.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Values(float* x, int n, int lanes, int count, long firstSample, uint step, bool evaluation, uint* keys, ulong* entries)
    {
        if (count == 0) return;
        byte laneBits = (byte)BitOperations.TrailingZeroCount(Lanes);
        TWords m0 = TLanes.Broadcast(Philox.M0), m1 = TLanes.Broadcast(Philox.M1);
        TWords w0 = TLanes.Broadcast(Philox.W0), w1 = TLanes.Broadcast(Philox.W1);
        TWords stepWord = TLanes.Broadcast(step);
        TWords stream = TLanes.Broadcast(evaluation ? DataStream.EvalValue : DataStream.TrainValue);
        TWords laneMask = TLanes.Broadcast((ulong)Lanes - 1), three = TLanes.Broadcast(3), quad = TLanes.Broadcast(0xFFUL << 2);
        TWords seven = TLanes.Broadcast(7), sample = TLanes.Broadcast((uint)firstSample);
        TWords width = TLanes.Broadcast((uint)n), panel = TLanes.Broadcast((uint)(Panels.Rows * lanes)), lane = TLanes.Broadcast((uint)lanes);
        ulong* words = stackalloc ulong[2 * Half];
        ulong* offsets = stackalloc ulong[2 * Half];
        for (int e0 = 0; e0 < count; e0 += 2 * Half)
        {
            // Past count the list holds junk (it has slack): computed, never stored.
            TWords ea = TLanes.Load(entries + e0), eb = TLanes.Load(entries + e0 + Half);
            Decode(ea, laneBits, laneMask, three, quad, seven, width, panel, lane, out TWords la, out TWords ia, out TWords ra, out TWords oa);
            Decode(eb, laneBits, laneMask, three, quad, seven, width, panel, lane, out TWords lb, out TWords ib, out TWords rb, out TWords ob);
            *(TWords*)offsets = oa;
            *(TWords*)(offsets + Half) = ob;
            // The counter (i, sample, step, stream); the keys of the entries' lanes.
            TWords a0 = ia, a1 = TLanes.Add(ra, sample), a2 = stepWord, a3 = stream;
            TWords b0 = ib, b1 = TLanes.Add(rb, sample), b2 = stepWord, b3 = stream;
            TWords ka0 = TLanes.Lookup(keys, la), ka1 = TLanes.Lookup(keys + Lanes, la);
            TWords kb0 = TLanes.Lookup(keys, lb), kb1 = TLanes.Lookup(keys + Lanes, lb);
            for (int t = 0; t < Philox.Rounds; t++)
            {
                if (t > 0)
                {
                    ka0 = TLanes.Add(ka0, w0); kb0 = TLanes.Add(kb0, w0);
                    ka1 = TLanes.Add(ka1, w1); kb1 = TLanes.Add(kb1, w1);
                }
                TWords pa0 = TLanes.MultiplyLow32(m0, a0), pb0 = TLanes.MultiplyLow32(m0, b0);
                TWords pa1 = TLanes.MultiplyLow32(m1, a2), pb1 = TLanes.MultiplyLow32(m1, b2);
                a0 = TLanes.Xor(TLanes.ShiftRight32(pa1), TLanes.Xor(a1, ka0));
                b0 = TLanes.Xor(TLanes.ShiftRight32(pb1), TLanes.Xor(b1, kb0));
                a2 = TLanes.Xor(TLanes.ShiftRight32(pa0), TLanes.Xor(a3, ka1));
                b2 = TLanes.Xor(TLanes.ShiftRight32(pb0), TLanes.Xor(b3, kb1));
                a1 = pa1;
                b1 = pb1;
                a3 = pa0;
                b3 = pb0;
            }
            *(TWords*)words = a0;
            *(TWords*)(words + Half) = b0;
            int here = Math.Min(2 * Half, count - e0);
            for (int t = 0; t < here; t++) x[(nint)offsets[t]] = DataStream.Value((uint)words[t]);
        }
    }

    /// <summary>An entry's lane, feature i = 4q + k, row, and where its x lies in the pass's panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Decode(TWords entry, byte laneBits, TWords laneMask, TWords three, TWords quad, TWords seven, TWords width, TWords panel,
        TWords lanes, out TWords lane, out TWords feature, out TWords row, out TWords offset)
    {
        lane = TLanes.And(entry, laneMask);
        feature = TLanes.Add(TLanes.And(TLanes.ShiftRight(entry, 4), quad), TLanes.And(TLanes.ShiftRight(entry, laneBits), three));
        row = TLanes.ShiftRight(entry, 14);
        // ((row / 8) n + i) 8 lanes + (row % 8) lanes + lane: Panels.Offset.
        offset = TLanes.Add(TLanes.MultiplyLow32(TLanes.Add(TLanes.MultiplyLow32(TLanes.ShiftRight(row, 3), width), feature), panel),
            TLanes.Add(TLanes.MultiplyLow32(TLanes.And(row, seven), lanes), lane));
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
/// One thread's room for <see cref="LaneStream{TWords, TLanes}"/>: the active bits of one pass of rows, the pass's
/// list of active (lane, feature, row), and round 0's key-free words per block.
/// </summary>
internal sealed unsafe class StreamScratch
{
    /// <summary>Elements (rows x n) generated per pass: bounds the list.</summary>
    public const int ChunkElements = 2048;

    /// <summary>Entries past the list's end that a pass writes (4, or more past a full word) or reads (AVX-512: 16).</summary>
    public const int Slack = 64;

    /// <summary>Rows of one pass for n features: whole panels, so that a pass's x begins at a panel.</summary>
    public static int PassRows(int n) => Math.Max(Panels.Rows, ChunkElements / n / Panels.Rows * Panels.Rows);

    /// <summary>Entries of the list for n features and <paramref name="lanes"/> lanes, slack included.</summary>
    public static long Capacity(int n, int lanes) => (long)Math.Max(ChunkElements, Panels.Rows * n) * lanes + Slack;

    public required ulong* Entries { get; init; }  // [Capacity]
    public required byte* Blocks { get; init; }    // [blocks][3] word vectors
    public required ulong* Masks { get; init; }    // [rows of a pass][blocks]: active bits
}
