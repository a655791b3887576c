using System.Numerics;
using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.Loops;

/// <summary>
/// Data stream v1 (<see cref="DataStream"/>), one sample at a time, vectorised over Philox counters:
/// the mask words of several feature blocks per call, then the value words of the active features.
/// Writes the sample sparse: its nonzero features in ascending order with their values.
/// </summary>
internal static unsafe class SampleRows
{
    /// <summary>Spread[b] moves bit l of b to bit 4l: lane l's mask bit for word k lands on feature 4l + k.</summary>
    private static readonly uint[] Spread = MakeSpread();

    private static uint[] MakeSpread()
    {
        var table = new uint[256];
        for (int b = 0; b < 256; b++)
            for (int l = 0; l < 8; l++)
                if ((b & (1 << l)) != 0) table[b] |= 1u << (4 * l);
        return table;
    }

    /// <summary>
    /// Sample <paramref name="sample"/> of step <paramref name="step"/>: writes the features with x != 0 in
    /// ascending order to <paramref name="row"/> (room for n) and returns how many. An active feature whose
    /// value is exactly 0 is left out, as the reference's products skip it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Generate<TWords, TLanes>(ulong seed, ulong threshold, uint step, uint sample, bool evaluation, int n, SparseEntry* row)
        where TWords : unmanaged where TLanes : IWordLanes<TWords>
    {
        if (threshold == 0) return 0;
        var (k0, k1) = Philox.Key(seed);
        uint maskStream = evaluation ? DataStream.EvalMask : DataStream.TrainMask;
        uint valueStream = evaluation ? DataStream.EvalValue : DataStream.TrainValue;
        int lanes = TLanes.WordCount;
        int count = 0;
        if (threshold > uint.MaxValue)
        {
            for (int i = 0; i < n; i++) row[count++].Index = i; // p = 1: every 32-bit word is below 2^32
        }
        else
        {
            int blocks = (n + 3) / 4;
            var uint32 = Spread;
            TWords sampleWord = TLanes.Broadcast(sample), stepWord = TLanes.Broadcast(step), streamWord = TLanes.Broadcast(maskStream);
            for (int q0 = 0; q0 < blocks; q0 += 2 * lanes)
            {
                TWords a0 = TLanes.Counting((ulong)q0), a1 = sampleWord, a2 = stepWord, a3 = streamWord;
                TWords b0 = TLanes.Counting((ulong)(q0 + lanes)), b1 = sampleWord, b2 = stepWord, b3 = streamWord;
                PhiloxLanes.Generate2<TWords, TLanes>(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3, k0, k1);
                // Feature 4q + k is active iff word k of block q is below T (64-bit unsigned compare).
                ulong active = (ulong)(uint32[TLanes.Below(a0, threshold)]
                        | uint32[TLanes.Below(a1, threshold)] << 1 | uint32[TLanes.Below(a2, threshold)] << 2 | uint32[TLanes.Below(a3, threshold)] << 3)
                    | (ulong)(uint32[TLanes.Below(b0, threshold)]
                        | uint32[TLanes.Below(b1, threshold)] << 1 | uint32[TLanes.Below(b2, threshold)] << 2 | uint32[TLanes.Below(b3, threshold)] << 3) << (4 * lanes);
                int first = 4 * q0;
                if (n - first < 8 * lanes) active &= (1UL << (n - first)) - 1;
                while (active != 0)
                {
                    row[count++].Index = first + BitOperations.TrailingZeroCount(active);
                    active &= active - 1;
                }
            }
        }
        return Values<TWords, TLanes>(k0, k1, step, sample, valueStream, row, count);
    }

    /// <summary>
    /// The value of each listed feature, written beside its index: the entries are loaded as they are (index in the
    /// low half of a 64-bit lane, which is the Philox counter's first word) and stored back whole. Compacts away exact zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Values<TWords, TLanes>(uint k0, uint k1, uint step, uint sample, uint valueStream, SparseEntry* row, int count)
        where TWords : unmanaged where TLanes : IWordLanes<TWords>
    {
        int lanes = TLanes.WordCount;
        TWords sampleWord = TLanes.Broadcast(sample), stepWord = TLanes.Broadcast(step), streamWord = TLanes.Broadcast(valueStream);
        ulong* staged = stackalloc ulong[2 * 8];
        uint zeros = 0;
        int e = 0;
        for (; e + 2 * lanes <= count; e += 2 * lanes)
            zeros |= ValueChunk<TWords, TLanes>((ulong*)(row + e), sampleWord, stepWord, streamWord, k0, k1);
        // The ragged end through a staged copy, so nothing past the row's last entry is stored.
        if (e < count)
        {
            int here = Math.Min(2 * lanes, count - e);
            for (int l = 0; l < 2 * lanes; l++) staged[l] = l < here ? *(ulong*)(row + e + l) : 0UL;
            zeros |= ValueChunk<TWords, TLanes>(staged, sampleWord, stepWord, streamWord, k0, k1) & ((1u << here) - 1);
            for (int l = 0; l < here; l++) row[e + l] = ((SparseEntry*)staged)[l];
        }
        return zeros == 0 ? count : WithoutZeros(row, count);
    }

    /// <summary>
    /// The entries of 2 <see cref="IWordLanes{TWords}.WordCount"/> features with their values, in place; bit l set
    /// iff the value of entry l is exactly 0 (its word is below 2^8).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ValueChunk<TWords, TLanes>(ulong* entries, TWords sampleWord, TWords stepWord, TWords streamWord, uint k0, uint k1)
        where TWords : unmanaged where TLanes : IWordLanes<TWords>
    {
        int lanes = TLanes.WordCount;
        TWords a0 = TLanes.Load(entries), a1 = sampleWord, a2 = stepWord, a3 = streamWord;
        TWords b0 = TLanes.Load(entries + lanes), b1 = sampleWord, b2 = stepWord, b3 = streamWord;
        PhiloxLanes.Generate2<TWords, TLanes>(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3, k0, k1);
        // The indices are loaded again rather than kept live through the rounds, where they would crowd the registers.
        TLanes.Store(entries, TLanes.Entries(TLanes.Load(entries), a0));
        TLanes.Store(entries + lanes, TLanes.Entries(TLanes.Load(entries + lanes), b0));
        return TLanes.Below(a0, 1u << 8) | TLanes.Below(b0, 1u << 8) << lanes;
    }

    /// <summary>Drops the entries whose value is exactly 0 (a word below 2^8, about one in 2^24), keeping the order.</summary>
    private static int WithoutZeros(SparseEntry* row, int count)
    {
        int kept = 0;
        for (int e = 0; e < count; e++)
            if (row[e].Value != 0f) row[kept++] = row[e];
        return kept;
    }
}
