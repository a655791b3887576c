using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using Xunit;
using ToyModels.Tests.Support;

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
    public void Scalar_lanes_keep_what_the_plain_loop_keeps(int seed) =>
        Check(seed, ScalarLanes.Count, (p, first, list) => ScalarLanes.AppendNonZero(*p, first, list));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Vector128_lanes_keep_what_the_plain_loop_keeps(int seed) =>
        Check(seed, Vector128Lanes.Count, (p, first, list) => Vector128Lanes.AppendNonZero(Vector128.Load(p), first, list));

    [SkippableTheory]
    [MemberData(nameof(Seeds))]
    public void Vector256_lanes_keep_what_the_plain_loop_keeps(int seed)
    {
        Skip.IfNot(Avx2.IsSupported, "this CPU has no AVX2");
        Check(seed, Vector256Lanes.Count, (p, first, list) => Vector256Lanes.AppendNonZero(Vector256.Load(p), first, list));
    }

    [SkippableTheory]
    [MemberData(nameof(Seeds))]
    public void Vector512_lanes_keep_what_the_plain_loop_keeps(int seed)
    {
        Skip.IfNot(Avx512F.IsSupported, "this CPU has no AVX-512");
        Check(seed, Vector512Lanes.Count, (p, first, list) => Vector512Lanes.AppendNonZero(Vector512.Load(p), first, list));
    }

    /// <summary>The lane-by-lane form, what runs without AVX2 and BMI2.</summary>
    [SkippableTheory]
    [MemberData(nameof(Seeds))]
    public void The_lane_by_lane_form_keeps_what_the_plain_loop_keeps(int seed)
    {
        Skip.IfNot(Avx2.IsSupported, "this CPU has no AVX2");
        Check(seed, Vector256Lanes.Count,
            (p, first, list) => SparseAppend.EachLane<Vector256<float>, Vector256Lanes>(Vector256.Load(p), first, list));
    }

    /// <summary>Appends the vector at <paramref name="source"/> (lanes numbered from <paramref name="first"/>) and returns how many were kept.</summary>
    private delegate int Append(float* source, int first, SparseEntry* list);

    /// <summary>Random rows of 64 values (about a third zero, some special), appended vector by vector like the sparse walks do.</summary>
    private static void Check(int seed, int width, Append append)
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
                for (int v = 0; v < Lanes; v += width)
                    count += append(values + v, 100 + v, list + count);
            Assert.Equal(expected.Count, count);
            for (int e = 0; e < count; e++)
            {
                Assert.Equal(expected[e].Item1, entries[e].Index);
                Assert.Equal(Bits.Canonical(expected[e].Item2), Bits.Canonical(entries[e].Value));
            }
            for (int e = room; e < entries.Length; e++) Assert.Equal(sentinel, entries[e]);
            Assert.True(count + width <= room);
        }
    }
}
