using System.Runtime.CompilerServices;

namespace ToyModels.Numerics;

/// <summary>
/// The R32 scalar-sum order of DESIGN section 2, rule 4: 32 virtual lanes, lane j accumulating
/// elements j, j+32, j+64, ... in ascending order, then the fixed halving tree
/// h = 16, 8, 4, 2, 1 with lane[j] += lane[j+h] for j &lt; h.
/// </summary>
public static class R32
{
    public const int Lanes = 32;

    /// <summary>The plain R32 sum (acc = acc + a_k per lane).</summary>
    public static float Sum(ReadOnlySpan<float> values)
    {
        Span<float> lane = stackalloc float[Lanes];
        lane.Clear();
        for (int k = 0; k < values.Length; k++)
            lane[k % Lanes] += values[k];
        return Tree(lane);
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
