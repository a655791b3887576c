namespace ToyModels.Backends.Simd.Lanes;

/// <summary>
/// The float operations a SIMD kernel may use, over one vector of <see cref="Count"/> lanes. Every
/// kernel is written once, generic over an implementation of this interface (Vector512, Vector256,
/// Vector128 or a single float), and the JIT specialises it for the one chosen at run time.
/// </summary>
/// <remarks>
/// Each member is one IEEE float32 operation per lane, rounded to nearest even, exactly as the scalar
/// reference performs it: <see cref="Fma"/> is the fused multiply-add (rounded once), never an estimate;
/// <see cref="Sqrt"/> and <see cref="Divide"/> are correctly rounded; the ReLU is a compare and select,
/// never max (max differs on -0 and NaN between instruction sets).
/// </remarks>
internal unsafe interface ILanes<TVec> where TVec : unmanaged
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TVec Zero { get; }
    static abstract TVec Broadcast(float value);
    /// <summary>Unaligned load of <see cref="Count"/> floats.</summary>
    static abstract TVec Load(float* source);
    static abstract void Store(float* destination, TVec value);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);
    static abstract TVec Sqrt(TVec a);
    /// <summary>a * b + c, rounded once.</summary>
    static abstract TVec Fma(TVec a, TVec b, TVec c);
    /// <summary>z &gt; 0 ? value : +0 per lane (false for NaN).</summary>
    static abstract TVec WherePositive(TVec z, TVec value);
    /// <summary>Keeps the first <paramref name="lanes"/> lanes of <paramref name="value"/> and sets the others to +0.</summary>
    static abstract TVec KeepFirst(TVec value, int lanes);
    /// <summary>Per lane: <paramref name="condition"/> is not +0 or -0 (NaN counts as nonzero) ? value : otherwise.</summary>
    static abstract TVec WhereNonZero(TVec condition, TVec value, TVec otherwise);
    /// <summary>Bit l set iff lane l is not +0 or -0 (NaN is nonzero, as in the reference's <c>g != 0</c>).</summary>
    static abstract uint NonZeroBits(TVec value);
    /// <summary>
    /// Writes the nonzero lanes (as <see cref="NonZeroBits"/>), in lane order, as entries (firstIndex + l, lane l) at
    /// <paramref name="destination"/> and returns how many. It may write up to <see cref="Count"/> entries (the
    /// ones past the returned count are junk): the caller leaves <see cref="SparseAppend.Slack"/> entries of room.
    /// Branch-free where the instruction set allows, since whether a lane is zero is as good as random.
    /// </summary>
    static abstract int AppendNonZero(TVec value, int firstIndex, SparseEntry* destination);
    /// <summary>Bit l set iff lane l is infinite or NaN.</summary>
    static abstract uint NonFiniteBits(TVec value);
    /// <summary>Lane l as a float.</summary>
    static abstract float Lane(TVec value, int l);
    /// <summary>
    /// Per lane, min(smallest, |value|) over values that are nonzero and finite (others leave it as is): a
    /// statistic that chooses between two exact paths, never part of a result.
    /// </summary>
    static abstract TVec MinMagnitude(TVec smallest, TVec value);
    /// <summary>The smallest lane (lanes hold non-negative numbers or +infinity).</summary>
    static abstract float Smallest(TVec value);
    /// <summary>
    /// Folds |value| into two per-lane running maxima of 32-bit patterns that start at <see cref="Zero"/>: of -|value|
    /// (unsigned order: largest for the smallest nonzero magnitude, 0 for +-0) and of |value| (signed order: the
    /// magnitude's order, infinity and NaN above every finite number). <see cref="OffGridBits"/> reads them.
    /// </summary>
    static abstract void FoldMagnitude(TVec value, ref TVec negated, ref TVec magnitude);
    /// <summary>
    /// Bit l set iff a value folded into lane l (<see cref="FoldMagnitude"/>) was nonzero with a magnitude below
    /// <see cref="MagnitudeGrid.Smallest"/>, or infinite or NaN.
    /// </summary>
    static abstract uint OffGridBits(TVec negated, TVec magnitude);
}

/// <summary>
/// A float that is zero or finite with a magnitude of at least 2^-50 is a multiple of 2^-73, so the exact product of
/// two such floats is zero or a multiple of 2^-146: on the grid of float32's smallest subnormal, 2^-149.
/// </summary>
internal static class MagnitudeGrid
{
    /// <summary>2^-50.</summary>
    public const float Smallest = 8.8817841970012523e-16f;
    /// <summary>The bit pattern of <see cref="Smallest"/>.</summary>
    public const uint SmallestBits = 0x2680_0000;
    /// <summary>-<see cref="SmallestBits"/> as an unsigned 32-bit number.</summary>
    public const uint NegatedSmallestBits = unchecked(0u - SmallestBits);
    /// <summary>The bit pattern of +infinity: a magnitude's pattern at least this is infinite or NaN.</summary>
    public const uint InfinityBits = 0x7F80_0000;
}

/// <summary>
/// 64-bit integer lanes for the vectorised Philox4x32-10 of data stream v1 (<see cref="Data.PhiloxLanes"/>):
/// each lane holds one 32-bit counter word in its low half.
/// </summary>
internal unsafe interface IWordLanes<TWords> where TWords : unmanaged
{
    /// <summary>Philox counters per vector.</summary>
    static abstract int WordCount { get; }
    static abstract TWords Broadcast(ulong value);
    /// <summary>Lanes first, first + 1, ..., first + Count - 1.</summary>
    static abstract TWords Counting(ulong first);
    static abstract TWords Load(ulong* source);
    static abstract void Store(ulong* destination, TWords words);
    /// <summary>The full 64-bit product of the low 32 bits of each lane (the high halves are ignored).</summary>
    static abstract TWords MultiplyLow32(TWords a, TWords b);
    static abstract TWords ShiftRight32(TWords a);
    static abstract TWords Xor(TWords a, TWords b);
    /// <summary>Bit l set iff the low 32 bits of lane l, as an unsigned number, are below <paramref name="threshold"/> (at most 2^32).</summary>
    static abstract uint Below(TWords words, ulong threshold);
    /// <summary><see cref="Below"/> with a threshold per lane (each at most 2^32).</summary>
    static abstract uint BelowEach(TWords words, TWords thresholds);
    /// <summary>
    /// A <see cref="SparseEntry"/> per lane: the low 32 bits of <paramref name="indices"/> as its index, and as its value
    /// the data stream's value (<see cref="Data.DataStream.Value"/>) of the low 32 bits of <paramref name="words"/>.
    /// </summary>
    static abstract TWords Entries(TWords indices, TWords words);
    static abstract TWords Add(TWords a, TWords b);
    static abstract TWords And(TWords a, TWords b);
    static abstract TWords ShiftRight(TWords a, byte bits);
    /// <summary>table[low 32 bits of lane l] in the low half of lane l; every index below 2 <see cref="WordCount"/> (at most 16).</summary>
    static abstract TWords Lookup(uint* table, TWords index);
}
