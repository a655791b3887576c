using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.Lanes;

/// <summary>AVX2 with FMA: 8 float lanes, 4 Philox lanes.</summary>
internal unsafe struct Vector256Lanes : ILanes<Vector256<float>>, IWordLanes<Vector256<ulong>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* source) => Vector256.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* destination, Vector256<float> value) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WherePositive(Vector256<float> z, Vector256<float> value) =>
        value & Vector256.GreaterThan(z, Vector256<float>.Zero); // a select with zero: one and, where the JIT's select takes three
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> KeepFirst(Vector256<float> value, int lanes) =>
        Vector256.ConditionalSelect(Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(lanes)).AsSingle(), value, Vector256<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WhereNonZero(Vector256<float> condition, Vector256<float> value, Vector256<float> otherwise) =>
        Vector256.ConditionalSelect(Vector256.Equals(condition, Vector256<float>.Zero), otherwise, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint NonZeroBits(Vector256<float> value) => (uint)(~Vector256.Equals(value, Vector256<float>.Zero)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int AppendNonZero(Vector256<float> value, int firstIndex, SparseEntry* destination)
    {
        if (!SparseAppend.CanCompress) return SparseAppend.EachLane<Vector256<float>, Vector256Lanes>(value, firstIndex, destination);
        uint bits = NonZeroBits(value);
        Vector256<int> order = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(SparseAppend.LaneOrder(bits)).AsByte());
        Vector256<float> values = Avx2.PermuteVar8x32(value, order);
        Vector256<float> indices = (order + Vector256.Create(firstIndex)).AsSingle();
        // (index, value) pairs: the unpacks interleave within each 128-bit half, the permutes put the halves in order.
        Vector256<float> low = Avx.UnpackLow(indices, values), high = Avx.UnpackHigh(indices, values);
        float* pairs = (float*)destination;
        Avx.Store(pairs, Avx.Permute2x128(low, high, 0x20));
        Avx.Store(pairs + 8, Avx.Permute2x128(low, high, 0x31));
        return BitOperations.PopCount(bits);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint NonFiniteBits(Vector256<float> value) => (uint)(~Vector256.Equals(value - value, Vector256<float>.Zero)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Lane(Vector256<float> value, int l) => value.GetElement(l);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MinMagnitude(Vector256<float> smallest, Vector256<float> value)
    {
        var magnitude = Vector256.Abs(value);
        var counted = Vector256.LessThan(magnitude, Vector256.Create(float.PositiveInfinity)) & ~Vector256.Equals(magnitude, Vector256<float>.Zero);
        return Vector256.ConditionalSelect(counted, Vector256.Min(smallest, magnitude), smallest);
    }
    public static float Smallest(Vector256<float> value)
    {
        float smallest = float.PositiveInfinity;
        for (int l = 0; l < Vector256<float>.Count; l++) smallest = MathF.Min(smallest, value.GetElement(l));
        return smallest;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FoldMagnitude(Vector256<float> value, ref Vector256<float> negated, ref Vector256<float> magnitude)
    {
        var bits = value.AsUInt32() & Vector256.Create(0x7FFF_FFFFu);
        negated = Vector256.Max(negated.AsUInt32(), Vector256<uint>.Zero - bits).AsSingle();
        magnitude = Vector256.Max(magnitude.AsInt32(), bits.AsInt32()).AsSingle();
    }
    public static uint OffGridBits(Vector256<float> negated, Vector256<float> magnitude) =>
        (uint)(Vector256.GreaterThan(negated.AsUInt32(), Vector256.Create(MagnitudeGrid.NegatedSmallestBits))
            | Vector256.GreaterThanOrEqual(magnitude.AsInt32(), Vector256.Create((int)MagnitudeGrid.InfinityBits)).AsUInt32()).ExtractMostSignificantBits();

    public static int WordCount => Vector256<ulong>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> Broadcast(ulong value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> Counting(ulong first) => Vector256.Create(first) + Vector256<ulong>.Indices;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> Load(ulong* source) => Vector256.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(ulong* destination, Vector256<ulong> words) => words.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> MultiplyLow32(Vector256<ulong> a, Vector256<ulong> b) => Avx2.Multiply(a.AsUInt32(), b.AsUInt32());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> ShiftRight32(Vector256<ulong> a) => Vector256.ShiftRightLogical(a, 32);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> Xor(Vector256<ulong> a, Vector256<ulong> b) => a ^ b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Below(Vector256<ulong> words, ulong threshold) =>
        (uint)Vector256.LessThan((words & Vector256.Create(0xFFFF_FFFFUL)).AsInt64(), Vector256.Create((long)threshold)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint BelowEach(Vector256<ulong> words, Vector256<ulong> thresholds) =>
        (uint)Vector256.LessThan((words & Vector256.Create(0xFFFF_FFFFUL)).AsInt64(), thresholds.AsInt64()).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Entries(Vector256<ulong> indices, Vector256<ulong> words) =>
        (indices & Vector256.Create(0xFFFF_FFFFUL))
        | Vector256.ShiftLeft((Vector256.ConvertToSingle(Vector256.ShiftRightLogical(words.AsUInt32(), 8).AsInt32()) * Vector256.Create(DataStream.ValueScale)).AsUInt64(), 32);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> Add(Vector256<ulong> a, Vector256<ulong> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> And(Vector256<ulong> a, Vector256<ulong> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<ulong> ShiftRight(Vector256<ulong> a, byte bits) => Vector256.ShiftRightLogical(a, bits);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Lookup(uint* table, Vector256<ulong> index) => Avx2.PermuteVar8x32(Vector256.Load(table), index.AsUInt32()).AsUInt64();
}
