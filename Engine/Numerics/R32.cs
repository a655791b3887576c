using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ToyModels.Numerics;

/// <summary>
/// The R32 scalar-sum order of numerics.md rule 4: 32 virtual lanes, lane j accumulating
/// elements j, j+32, j+64, ... in ascending order, then the fixed halving tree
/// h = 16, 8, 4, 2, 1 with lane[j] += lane[j+h] for j &lt; h.
/// </summary>
internal static class R32
{
    public const int Lanes = 32;

    /// <summary>The plain R32 sum (acc = acc + a_k per lane).</summary>
    public static float Sum(ReadOnlySpan<float> values)
    {
        Span<float> lane = stackalloc float[Lanes];
        lane.Clear();
        Accumulate(lane, 0, values);
        return Tree(lane);
    }

    /// <summary>
    /// Adds <paramref name="values"/> as elements <paramref name="first"/>, <paramref name="first"/> + 1, ... of a
    /// longer sum: lane (first + k) mod 32 accumulates values[k]. Feeding a sequence in consecutive pieces gives the
    /// lanes, and so the <see cref="Tree"/>, of <see cref="Sum"/> over the whole sequence.
    /// </summary>
    public static void Accumulate(Span<float> lane, long first, ReadOnlySpan<float> values)
    {
        if (lane.Length != Lanes) throw new ArgumentException($"{lane.Length} lanes; R32 has {Lanes}", nameof(lane));
        if (first < 0) throw new ArgumentOutOfRangeException(nameof(first), first, "element indices are >= 0");
        int j = (int)(first % Lanes), k = 0;
        for (; k < values.Length && j != 0; k++, j = (j + 1) & (Lanes - 1))
            lane[j] += values[k];
        if (Vector256.IsHardwareAccelerated && values.Length - k >= Lanes)
        {
            // Whole rounds of 32 from lane 0: four vectors of lanes, each lane still adding its own elements in order.
            ref float l = ref MemoryMarshal.GetReference(lane);
            ref float v = ref MemoryMarshal.GetReference(values);
            var a0 = Vector256.LoadUnsafe(ref l, 0);
            var a1 = Vector256.LoadUnsafe(ref l, 8);
            var a2 = Vector256.LoadUnsafe(ref l, 16);
            var a3 = Vector256.LoadUnsafe(ref l, 24);
            for (; k + Lanes <= values.Length; k += Lanes)
            {
                a0 += Vector256.LoadUnsafe(ref v, (nuint)k);
                a1 += Vector256.LoadUnsafe(ref v, (nuint)k + 8);
                a2 += Vector256.LoadUnsafe(ref v, (nuint)k + 16);
                a3 += Vector256.LoadUnsafe(ref v, (nuint)k + 24);
            }
            a0.StoreUnsafe(ref l, 0);
            a1.StoreUnsafe(ref l, 8);
            a2.StoreUnsafe(ref l, 16);
            a3.StoreUnsafe(ref l, 24);
        }
        for (; k < values.Length; k++, j = (j + 1) & (Lanes - 1))
            lane[j] += values[k];
    }

    /// <summary>The halving tree over 32 lane accumulators; destroys <paramref name="lane"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tree(Span<float> lane)
    {
        for (int h = Lanes / 2; h >= 1; h /= 2)
            for (int j = 0; j < h; j++)
                lane[j] += lane[j + h];
        return lane[0];
    }
}
