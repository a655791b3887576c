using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.Lanes;

/// <summary>AVX-512 (with FMA): 16 float lanes, 8 Philox lanes.</summary>
internal unsafe struct Vector512Lanes : ILanes<Vector512<float>>, IWordLanes<Vector512<ulong>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* source) => Vector512.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* destination, Vector512<float> value) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WherePositive(Vector512<float> z, Vector512<float> value) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), value, Vector512<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> KeepFirst(Vector512<float> value, int lanes) =>
        Vector512.ConditionalSelect(Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(lanes)).AsSingle(), value, Vector512<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WhereNonZero(Vector512<float> condition, Vector512<float> value, Vector512<float> otherwise) =>
        Vector512.ConditionalSelect(Vector512.Equals(condition, Vector512<float>.Zero), otherwise, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint NonZeroBits(Vector512<float> value) => (uint)(~Vector512.Equals(value, Vector512<float>.Zero)).ExtractMostSignificantBits();
    /// <remarks>As two halves of 8 (every AVX-512 CPU has AVX2 and BMI2).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int AppendNonZero(Vector512<float> value, int firstIndex, SparseEntry* destination)
    {
        int low = Vector256Lanes.AppendNonZero(value.GetLower(), firstIndex, destination);
        return low + Vector256Lanes.AppendNonZero(value.GetUpper(), firstIndex + 8, destination + low);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint NonFiniteBits(Vector512<float> value) => (uint)(~Vector512.Equals(value - value, Vector512<float>.Zero)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Lane(Vector512<float> value, int l) => value.GetElement(l);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MinMagnitude(Vector512<float> smallest, Vector512<float> value)
    {
        var magnitude = Vector512.Abs(value);
        var counted = Vector512.LessThan(magnitude, Vector512.Create(float.PositiveInfinity)) & ~Vector512.Equals(magnitude, Vector512<float>.Zero);
        return Vector512.ConditionalSelect(counted, Vector512.Min(smallest, magnitude), smallest);
    }
    public static float Smallest(Vector512<float> value)
    {
        float smallest = float.PositiveInfinity;
        for (int l = 0; l < Vector512<float>.Count; l++) smallest = MathF.Min(smallest, value.GetElement(l));
        return smallest;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FoldMagnitude(Vector512<float> value, ref Vector512<float> negated, ref Vector512<float> magnitude)
    {
        var bits = value.AsUInt32() & Vector512.Create(0x7FFF_FFFFu);
        negated = Vector512.Max(negated.AsUInt32(), Vector512<uint>.Zero - bits).AsSingle();
        magnitude = Vector512.Max(magnitude.AsInt32(), bits.AsInt32()).AsSingle();
    }
    public static uint OffGridBits(Vector512<float> negated, Vector512<float> magnitude) =>
        (uint)(Vector512.GreaterThan(negated.AsUInt32(), Vector512.Create(MagnitudeGrid.NegatedSmallestBits))
            | Vector512.GreaterThanOrEqual(magnitude.AsInt32(), Vector512.Create((int)MagnitudeGrid.InfinityBits)).AsUInt32()).ExtractMostSignificantBits();

    public static int WordCount => Vector512<ulong>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> Broadcast(ulong value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> Counting(ulong first) => Vector512.Create(first) + Vector512<ulong>.Indices;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> Load(ulong* source) => Vector512.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(ulong* destination, Vector512<ulong> words) => words.Store(destination);
    /// <remarks>Without AVX-512 (tests on narrower CPUs) the same product through .NET's software fallback.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> MultiplyLow32(Vector512<ulong> a, Vector512<ulong> b) => Avx512F.IsSupported
        ? Avx512F.Multiply(a.AsUInt32(), b.AsUInt32())
        : (a & Vector512.Create(0xFFFF_FFFFUL)) * (b & Vector512.Create(0xFFFF_FFFFUL));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> ShiftRight32(Vector512<ulong> a) => Vector512.ShiftRightLogical(a, 32);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> Xor(Vector512<ulong> a, Vector512<ulong> b) => a ^ b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Below(Vector512<ulong> words, ulong threshold) =>
        (uint)Vector512.LessThan((words & Vector512.Create(0xFFFF_FFFFUL)).AsInt64(), Vector512.Create((long)threshold)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint BelowEach(Vector512<ulong> words, Vector512<ulong> thresholds) =>
        (uint)Vector512.LessThan((words & Vector512.Create(0xFFFF_FFFFUL)).AsInt64(), thresholds.AsInt64()).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Entries(Vector512<ulong> indices, Vector512<ulong> words) =>
        (indices & Vector512.Create(0xFFFF_FFFFUL))
        | Vector512.ShiftLeft((Vector512.ConvertToSingle(Vector512.ShiftRightLogical(words.AsUInt32(), 8).AsInt32()) * Vector512.Create(DataStream.ValueScale)).AsUInt64(), 32);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> Add(Vector512<ulong> a, Vector512<ulong> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> And(Vector512<ulong> a, Vector512<ulong> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<ulong> ShiftRight(Vector512<ulong> a, byte bits) => Vector512.ShiftRightLogical(a, bits);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Lookup(uint* table, Vector512<ulong> index) => Avx512F.PermuteVar16x32(Vector512.Load(table), index.AsUInt32()).AsUInt64();
}
