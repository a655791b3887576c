using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ToyModels.Backends.Simd.Lanes;

/// <summary>
/// The parts of <see cref="ILanes{TVec}.AppendNonZero"/> shared by the lane types: the lane order of a
/// compression (which lanes to keep, packed to the front) and the lane-by-lane form where it cannot be had.
/// </summary>
internal static unsafe class SparseAppend
{
    /// <summary>Entries of room a list needs past its longest length: one vector of the widest lanes.</summary>
    public const int Slack = 16;

    /// <summary>Whether <see cref="LaneOrder"/> and the 256-bit permutes are available (AVX2 and 64-bit BMI2).</summary>
    public static bool CanCompress => Avx2.IsSupported && Bmi2.X64.IsSupported;

    /// <summary>
    /// The numbers of the set bits of <paramref name="bits"/> (at most 8), ascending, one per byte from the lowest;
    /// the bytes past them are 0. Each bit is spread to a byte of ones (deposit), which picks the bytes of
    /// 0, 1, ..., 7 to keep (extract).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong LaneOrder(uint bits) =>
        Bmi2.X64.ParallelBitExtract(0x0706050403020100UL, Bmi2.X64.ParallelBitDeposit(bits, 0x0101010101010101UL) * 0xFF);

    /// <summary>
    /// The lanes of the 64-lane <paramref name="row"/> whose bits are set in <paramref name="mask"/>, in lane order, as
    /// entries (firstIndex + l, row[l]); returns how many. Writes nothing past them: work per set bit, for sparse rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bits(float* row, ulong mask, int firstIndex, SparseEntry* destination)
    {
        int count = 0;
        for (; mask != 0; mask &= mask - 1, count++)
        {
            int l = BitOperations.TrailingZeroCount(mask);
            destination[count].Index = firstIndex + l;
            destination[count].Value = row[l];
        }
        return count;
    }

    /// <summary>Every lane written, the write position moved past the nonzero ones only: no branch on the data.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EachLane<TVec, TLanes>(TVec value, int firstIndex, SparseEntry* destination)
        where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        uint bits = TLanes.NonZeroBits(value);
        int count = 0;
        for (int l = 0; l < TLanes.Count; l++)
        {
            destination[count].Index = firstIndex + l;
            destination[count].Value = TLanes.Lane(value, l);
            count += (int)((bits >> l) & 1);
        }
        return count;
    }
}
