using System.Runtime.CompilerServices;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.Lanes;

/// <summary>
/// One lane: the path for machines without FMA or without hardware intrinsics, and the kernels' scalar
/// tail. MathF.FusedMultiplyAdd is exact everywhere (in software where the hardware lacks it).
/// </summary>
internal unsafe struct ScalarLanes : ILanes<float>, IWordLanes<ulong>
{
    public static int Count => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float value) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* source) => *source;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* destination, float value) => *destination = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Subtract(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Multiply(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Divide(float a, float b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sqrt(float a) => MathF.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float WherePositive(float z, float value) => z > 0f ? value : 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float KeepFirst(float value, int lanes) => lanes > 0 ? value : 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float WhereNonZero(float condition, float value, float otherwise) => condition != 0f ? value : otherwise;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static uint NonZeroBits(float value) => value != 0f ? 1u : 0u;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int AppendNonZero(float value, int firstIndex, SparseEntry* destination)
    {
        destination->Index = firstIndex;
        destination->Value = value;
        return value != 0f ? 1 : 0;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static uint NonFiniteBits(float value) => float.IsFinite(value) ? 0u : 1u;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Lane(float value, int l) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MinMagnitude(float smallest, float value)
    {
        float magnitude = MathF.Abs(value);
        return magnitude < float.PositiveInfinity && magnitude != 0f && magnitude < smallest ? magnitude : smallest;
    }
    public static float Smallest(float value) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FoldMagnitude(float value, ref float negated, ref float magnitude)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value) & 0x7FFF_FFFFu;
        negated = BitConverter.UInt32BitsToSingle(Math.Max(BitConverter.SingleToUInt32Bits(negated), unchecked(0u - bits)));
        magnitude = BitConverter.UInt32BitsToSingle(Math.Max(BitConverter.SingleToUInt32Bits(magnitude), bits));
    }
    public static uint OffGridBits(float negated, float magnitude) =>
        BitConverter.SingleToUInt32Bits(negated) > MagnitudeGrid.NegatedSmallestBits || BitConverter.SingleToUInt32Bits(magnitude) >= MagnitudeGrid.InfinityBits ? 1u : 0u;

    public static int WordCount => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong Broadcast(ulong value) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong Counting(ulong first) => first;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong Load(ulong* source) => *source;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(ulong* destination, ulong words) => *destination = words;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong MultiplyLow32(ulong a, ulong b) => (ulong)(uint)a * (uint)b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong ShiftRight32(ulong a) => a >> 32;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong Xor(ulong a, ulong b) => a ^ b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static uint Below(ulong words, ulong threshold) => (words & 0xFFFF_FFFFUL) < threshold ? 1u : 0u;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static uint BelowEach(ulong words, ulong thresholds) => Below(words, thresholds);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Entries(ulong indices, ulong words) => (uint)indices | (ulong)BitConverter.SingleToUInt32Bits(DataStream.Value((uint)words)) << 32;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong Add(ulong a, ulong b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong And(ulong a, ulong b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong ShiftRight(ulong a, byte bits) => a >> bits;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong Lookup(uint* table, ulong index) => table[(uint)index];
}
