using System.Numerics;
using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.Kernels;

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
    /// ascending order to <paramref name="indices"/> and their values to <paramref name="values"/> (room for n
    /// each) and returns how many. An active feature whose value is exactly 0 is left out, as the reference's
    /// products skip it.
    /// </summary>
    public static int Generate<TWords, TLanes>(ulong seed, ulong threshold, uint step, uint sample, bool evaluation, int n,
        int* indices, float* values)
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
            for (int i = 0; i < n; i++) indices[count++] = i; // p = 1: every 32-bit word is below 2^32
        }
        else
        {
            int blocks = (n + 3) / 4;
            TWords row = TLanes.Broadcast(sample), time = TLanes.Broadcast(step), stream = TLanes.Broadcast(maskStream);
            for (int q0 = 0; q0 < blocks; q0 += lanes)
            {
                TWords c0 = TLanes.Counting((ulong)q0), c1 = row, c2 = time, c3 = stream;
                PhiloxLanes.Generate<TWords, TLanes>(ref c0, ref c1, ref c2, ref c3, k0, k1);
                // Feature 4q + k is active iff word k of block q is below T (64-bit unsigned compare).
                ulong active = Spread[TLanes.Below(c0, threshold)]
                    | (ulong)Spread[TLanes.Below(c1, threshold)] << 1
                    | (ulong)Spread[TLanes.Below(c2, threshold)] << 2
                    | (ulong)Spread[TLanes.Below(c3, threshold)] << 3;
                int first = 4 * q0;
                if (n - first < 4 * lanes) active &= (1UL << (n - first)) - 1;
                while (active != 0)
                {
                    indices[count++] = first + BitOperations.TrailingZeroCount(active);
                    active &= active - 1;
                }
            }
        }
        return Values<TWords, TLanes>(k0, k1, step, sample, valueStream, indices, values, count);
    }

    /// <summary>Value words for the active features, several per call; compacts away exact zeros.</summary>
    private static int Values<TWords, TLanes>(uint k0, uint k1, uint step, uint sample, uint valueStream, int* indices, float* values, int count)
        where TWords : unmanaged where TLanes : IWordLanes<TWords>
    {
        int lanes = TLanes.WordCount;
        ulong* staged = stackalloc ulong[16];
        int* feature = stackalloc int[16];
        TWords row = TLanes.Broadcast(sample), time = TLanes.Broadcast(step), stream = TLanes.Broadcast(valueStream);
        int kept = 0;
        for (int e = 0; e < count; e += lanes)
        {
            int here = Math.Min(lanes, count - e);
            for (int l = 0; l < lanes; l++)
            {
                feature[l] = l < here ? indices[e + l] : 0;
                staged[l] = (uint)feature[l];
            }
            TWords c0 = TLanes.Load(staged), c1 = row, c2 = time, c3 = stream;
            PhiloxLanes.Generate<TWords, TLanes>(ref c0, ref c1, ref c2, ref c3, k0, k1);
            for (int l = 0; l < here; l++)
            {
                float value = DataStream.Value(TLanes.Word(c0, l));
                if (value == 0f) continue;
                indices[kept] = feature[l]; // kept <= e + l: never overwrites an index not yet staged
                values[kept] = value;
                kept++;
            }
        }
        return kept;
    }
}
