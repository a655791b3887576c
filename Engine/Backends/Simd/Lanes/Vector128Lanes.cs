using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Data;

namespace ToyModels.Backends.Simd.Lanes;

/// <summary>SSE with FMA: 4 float lanes, 2 Philox lanes.</summary>
internal unsafe struct Vector128Lanes : ILanes<Vector128<float>>, IWordLanes<Vector128<ulong>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* source) => Vector128.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* destination, Vector128<float> value) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sqrt(Vector128<float> a) => Vector128.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> WherePositive(Vector128<float> z, Vector128<float> value) =>
        value & Vector128.GreaterThan(z, Vector128<float>.Zero); // a select with zero: one and, where the JIT's select takes three
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> KeepFirst(Vector128<float> value, int lanes) =>
        Vector128.ConditionalSelect(Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(lanes)).AsSingle(), value, Vector128<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> WhereNonZero(Vector128<float> condition, Vector128<float> value, Vector128<float> otherwise) =>
        Vector128.ConditionalSelect(Vector128.Equals(condition, Vector128<float>.Zero), otherwise, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint NonZeroBits(Vector128<float> value) => (uint)(~Vector128.Equals(value, Vector128<float>.Zero)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int AppendNonZero(Vector128<float> value, int firstIndex, SparseEntry* destination)
    {
        if (!SparseAppend.CanCompress) return SparseAppend.EachLane<Vector128<float>, Vector128Lanes>(value, firstIndex, destination);
        uint bits = NonZeroBits(value);
        Vector128<int> order = Sse41.ConvertToVector128Int32(Vector128.CreateScalar(SparseAppend.LaneOrder(bits)).AsByte());
        Vector128<float> values = Avx.PermuteVar(value, order);
        Vector128<float> indices = (order + Vector128.Create(firstIndex)).AsSingle();
        float* pairs = (float*)destination;
        Sse.Store(pairs, Sse.UnpackLow(indices, values));
        Sse.Store(pairs + 4, Sse.UnpackHigh(indices, values));
        return BitOperations.PopCount(bits);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint NonFiniteBits(Vector128<float> value) => (uint)(~Vector128.Equals(value - value, Vector128<float>.Zero)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Lane(Vector128<float> value, int l) => value.GetElement(l);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MinMagnitude(Vector128<float> smallest, Vector128<float> value)
    {
        var magnitude = Vector128.Abs(value);
        var counted = Vector128.LessThan(magnitude, Vector128.Create(float.PositiveInfinity)) & ~Vector128.Equals(magnitude, Vector128<float>.Zero);
        return Vector128.ConditionalSelect(counted, Vector128.Min(smallest, magnitude), smallest);
    }
    public static float Smallest(Vector128<float> value)
    {
        float smallest = float.PositiveInfinity;
        for (int l = 0; l < Vector128<float>.Count; l++) smallest = MathF.Min(smallest, value.GetElement(l));
        return smallest;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FoldMagnitude(Vector128<float> value, ref Vector128<float> negated, ref Vector128<float> magnitude)
    {
        var bits = value.AsUInt32() & Vector128.Create(0x7FFF_FFFFu);
        negated = Vector128.Max(negated.AsUInt32(), Vector128<uint>.Zero - bits).AsSingle();
        magnitude = Vector128.Max(magnitude.AsInt32(), bits.AsInt32()).AsSingle();
    }
    public static uint OffGridBits(Vector128<float> negated, Vector128<float> magnitude) =>
        (uint)(Vector128.GreaterThan(negated.AsUInt32(), Vector128.Create(MagnitudeGrid.NegatedSmallestBits))
            | Vector128.GreaterThanOrEqual(magnitude.AsInt32(), Vector128.Create((int)MagnitudeGrid.InfinityBits)).AsUInt32()).ExtractMostSignificantBits();

    public static int WordCount => Vector128<ulong>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> Broadcast(ulong value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> Counting(ulong first) => Vector128.Create(first) + Vector128<ulong>.Indices;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> Load(ulong* source) => Vector128.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(ulong* destination, Vector128<ulong> words) => words.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> MultiplyLow32(Vector128<ulong> a, Vector128<ulong> b) => Sse2.Multiply(a.AsUInt32(), b.AsUInt32());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> ShiftRight32(Vector128<ulong> a) => Vector128.ShiftRightLogical(a, 32);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> Xor(Vector128<ulong> a, Vector128<ulong> b) => a ^ b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Below(Vector128<ulong> words, ulong threshold) =>
        (uint)Vector128.LessThan((words & Vector128.Create(0xFFFF_FFFFUL)).AsInt64(), Vector128.Create((long)threshold)).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint BelowEach(Vector128<ulong> words, Vector128<ulong> thresholds) =>
        (uint)Vector128.LessThan((words & Vector128.Create(0xFFFF_FFFFUL)).AsInt64(), thresholds.AsInt64()).ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Entries(Vector128<ulong> indices, Vector128<ulong> words) =>
        (indices & Vector128.Create(0xFFFF_FFFFUL))
        | Vector128.ShiftLeft((Vector128.ConvertToSingle(Vector128.ShiftRightLogical(words.AsUInt32(), 8).AsInt32()) * Vector128.Create(DataStream.ValueScale)).AsUInt64(), 32);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> Add(Vector128<ulong> a, Vector128<ulong> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> And(Vector128<ulong> a, Vector128<ulong> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<ulong> ShiftRight(Vector128<ulong> a, byte bits) => Vector128.ShiftRightLogical(a, bits);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Lookup(uint* table, Vector128<ulong> index) =>
        Vector128.Create((ulong)table[(uint)index.GetElement(0)], table[(uint)index.GetElement(1)]);
}
