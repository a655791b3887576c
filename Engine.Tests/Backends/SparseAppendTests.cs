using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using Xunit;

namespace ToyModels.Tests.Backends;

/// <summary>
/// ILanes.AppendNonZero, the branch-free list builder of the sparse walks, against the plain loop: which lanes it
/// keeps (+0 and -0 dropped, NaN and subnormals kept), their order, and that it writes nothing past one vector.
/// </summary>
public sealed unsafe class SparseAppendTests
{
    private static readonly float[] Specials = [0f, -0f, float.NaN, float.Epsilon, -float.Epsilon, 1f, -2.5f, float.PositiveInfinity];

    public static TheoryData<int> Seeds => new() { 1, 2, 3 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Scalar_lanes_keep_what_the_plain_loop_keeps(int seed) => Check<float, ScalarLanes>(seed, (p, _) => *p);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Vector128_lanes_keep_what_the_plain_loop_keeps(int seed) => Check<Vector128<float>, Vector128Lanes>(seed, (p, _) => Vector128.Load(p));

    [SkippableTheory]
    [MemberData(nameof(Seeds))]
    public void Vector256_lanes_keep_what_the_plain_loop_keeps(int seed)
    {
        Skip.IfNot(Avx2.IsSupported, "this CPU has no AVX2");
        Check<Vector256<float>, Vector256Lanes>(seed, (p, _) => Vector256.Load(p));
    }

    [SkippableTheory]
    [MemberData(nameof(Seeds))]
    public void Vector512_lanes_keep_what_the_plain_loop_keeps(int seed)
    {
        Skip.IfNot(Avx512F.IsSupported, "this CPU has no AVX-512");
        Check<Vector512<float>, Vector512Lanes>(seed, (p, _) => Vector512.Load(p));
    }

    [SkippableTheory]
    [MemberData(nameof(Seeds))]
    public void The_lane_by_lane_form_keeps_what_the_plain_loop_keeps(int seed)
    {
        Skip.IfNot(Avx2.IsSupported, "this CPU has no AVX2");
        Check<Vector256<float>, EachLane256>(seed, (p, _) => Vector256.Load(p));
    }

    /// <summary>Vector256 lanes whose append is the lane-by-lane fallback (what runs without BMI2).</summary>
    private readonly struct EachLane256 : ILanes<Vector256<float>>
    {
        public static int Count => Vector256Lanes.Count;
        public static Vector256<float> Zero => Vector256Lanes.Zero;
        public static Vector256<float> Broadcast(float value) => Vector256Lanes.Broadcast(value);
        public static Vector256<float> Load(float* source) => Vector256Lanes.Load(source);
        public static void Store(float* destination, Vector256<float> value) => Vector256Lanes.Store(destination, value);
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => Vector256Lanes.Add(a, b);
        public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => Vector256Lanes.Subtract(a, b);
        public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => Vector256Lanes.Multiply(a, b);
        public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => Vector256Lanes.Divide(a, b);
        public static Vector256<float> Sqrt(Vector256<float> a) => Vector256Lanes.Sqrt(a);
        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256Lanes.Fma(a, b, c);
        public static Vector256<float> WherePositive(Vector256<float> z, Vector256<float> value) => Vector256Lanes.WherePositive(z, value);
        public static Vector256<float> KeepFirst(Vector256<float> value, int lanes) => Vector256Lanes.KeepFirst(value, lanes);
        public static Vector256<float> WhereNonZero(Vector256<float> condition, Vector256<float> value, Vector256<float> otherwise) =>
            Vector256Lanes.WhereNonZero(condition, value, otherwise);
        public static uint NonZeroBits(Vector256<float> value) => Vector256Lanes.NonZeroBits(value);
        public static int AppendNonZero(Vector256<float> value, int firstIndex, SparseEntry* destination) =>
            SparseAppend.EachLane<Vector256<float>, EachLane256>(value, firstIndex, destination);
        public static uint NonFiniteBits(Vector256<float> value) => Vector256Lanes.NonFiniteBits(value);
        public static float Lane(Vector256<float> value, int l) => Vector256Lanes.Lane(value, l);
        public static Vector256<float> MinMagnitude(Vector256<float> smallest, Vector256<float> value) => Vector256Lanes.MinMagnitude(smallest, value);
        public static float Smallest(Vector256<float> value) => Vector256Lanes.Smallest(value);
    }

    private delegate TVec Loader<TVec>(float* source, int count);

    /// <summary>Random rows of 64 values (about a third zero, some special), appended vector by vector like the sparse walks do.</summary>
    private static void Check<TVec, TLanes>(int seed, Loader<TVec> load) where TVec : unmanaged where TLanes : ILanes<TVec>
    {
        var random = new Random(seed);
        const int Lanes = 64, Guard = 4;
        for (int trial = 0; trial < 200; trial++)
        {
            var row = new float[Lanes];
            for (int l = 0; l < Lanes; l++)
                row[l] = random.Next(3) == 0 ? Specials[random.Next(Specials.Length)] : random.Next(2) == 0 ? 0f : (float)random.NextDouble() - 0.5f;
            var expected = new List<(int, float)>();
            for (int l = 0; l < Lanes; l++)
                if (row[l] != 0f) expected.Add((100 + l, row[l]));
            int room = Lanes + SparseAppend.Slack;
            var entries = new SparseEntry[room + Guard];
            var sentinel = new SparseEntry { Index = -7, Value = 7f };
            for (int e = room; e < entries.Length; e++) entries[e] = sentinel;
            int count = 0;
            fixed (float* values = row)
            fixed (SparseEntry* list = entries)
                for (int v = 0; v < Lanes; v += TLanes.Count)
                    count += TLanes.AppendNonZero(load(values + v, TLanes.Count), 100 + v, list + count);
            Assert.Equal(expected.Count, count);
            for (int e = 0; e < count; e++)
            {
                Assert.Equal(expected[e].Item1, entries[e].Index);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[e].Item2), BitConverter.SingleToInt32Bits(entries[e].Value));
            }
            for (int e = room; e < entries.Length; e++) Assert.Equal(sentinel, entries[e]);
            Assert.True(count + TLanes.Count <= room);
        }
    }
}
