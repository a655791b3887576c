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

    /// <summary>Value words for the active features, several per call; compacts away exact zeros.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Values<TWords, TLanes>(uint k0, uint k1, uint step, uint sample, uint valueStream, SparseEntry* row, int count)
        where TWords : unmanaged where TLanes : IWordLanes<TWords>
    {
        int lanes = TLanes.WordCount;
        ulong* staged = stackalloc ulong[32];
        TWords sampleWord = TLanes.Broadcast(sample), stepWord = TLanes.Broadcast(step), streamWord = TLanes.Broadcast(valueStream);
        int kept = 0;
        for (int e = 0; e < count; e += 2 * lanes)
        {
            int here = Math.Min(2 * lanes, count - e);
            for (int l = 0; l < 2 * lanes; l++) staged[l] = l < here ? (uint)row[e + l].Index : 0u;
            TWords a0 = TLanes.Load(staged), a1 = sampleWord, a2 = stepWord, a3 = streamWord;
            TWords b0 = TLanes.Load(staged + lanes), b1 = sampleWord, b2 = stepWord, b3 = streamWord;
            PhiloxLanes.Generate2<TWords, TLanes>(ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3, k0, k1);
            for (int l = 0; l < here; l++)
            {
                float value = DataStream.Value(l < lanes ? TLanes.Word(a0, l) : TLanes.Word(b0, l - lanes));
                if (value == 0f) continue;
                // kept <= e + l: never overwrites an index not yet staged.
                row[kept].Index = (int)staged[l];
                row[kept].Value = value;
                kept++;
            }
        }
        return kept;
    }
}
