using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FsCheck;
using FsCheck.Fluent;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Loops;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The sparse list builders against the plain loop (keep v != 0, in order, with its index) on drawn inputs: values
/// from <see cref="Properties.SparseFloats"/> (+0 and -0 dropped; NaN, infinities and subnormals kept), ragged
/// lengths and blocks, and nothing written past the room the callers reserve. (They replace the fixed-case
/// SampleListsTests and SparseAppendTests, whose cases these draws cover.)
/// </summary>
public sealed unsafe class SparseListPropertyTests
{
    private static readonly SparseEntry Sentinel = new() { Index = -7, Value = 7f };
    private const int Guard = 8;

    /// <summary>The plain definition: the nonzero values of <paramref name="values"/>, numbered from <paramref name="first"/>.</summary>
    private static List<(int Index, uint Bits)> NonZero(IEnumerable<float> values, int first) =>
        values.Select((v, l) => (Index: first + l, Value: v)).Where(e => e.Value != 0f).Select(e => (e.Index, Bits.Canonical(e.Value))).ToList();

    private static List<(int Index, uint Bits)> Listed(SparseEntry[] entries, int from, int count) =>
        entries.Skip(from).Take(count).Select(e => (e.Index, Bits.Canonical(e.Value))).ToList();

    /// <summary>Appends the vector at <paramref name="source"/> (lanes numbered from <paramref name="first"/>) and returns how many were kept.</summary>
    private delegate int Append(float* source, int first, SparseEntry* list);

    public static TheoryData<string> LaneKinds => new() { "scalar", "vector128", "vector256", "vector512", "each-lane" };

    /// <summary>A row of any length, cut into vectors (the last padded with zeros, as the walks' panels are), appended one after another.</summary>
    [SkippableTheory]
    [MemberData(nameof(LaneKinds))]
    public void AppendNonZero_keeps_what_the_plain_loop_keeps(string kind)
    {
        var (width, append) = Lanes(kind);
        var rows =
            from length in Gen.Choose(0, 150)
            from values in Gen.ArrayOf(Properties.SparseFloats, length)
            from first in Gen.Choose(0, 1 << 20)
            select (values, first);
        Properties.Check(Prop.ForAll(rows.ToArbitrary(), row =>
        {
            var (values, first) = row;
            int padded = (values.Length + width - 1) / width * width, room = padded + SparseAppend.Slack;
            var source = new float[padded];
            values.CopyTo(source, 0);
            var entries = new SparseEntry[room + Guard];
            Array.Fill(entries, Sentinel, room, Guard);
            int count = 0;
            fixed (float* p = source)
            fixed (SparseEntry* list = entries)
                for (int v = 0; v < padded; v += width)
                    count += append(p + v, first + v, list + count);
            Assert.Equal(NonZero(values, first), Listed(entries, 0, count));
            Assert.All(entries[room..], e => Assert.Equal(Sentinel, e));
        }), cases: 300, seed: (ulong)kind.Length * 7919);
    }

    private static (int Width, Append Append) Lanes(string kind)
    {
        switch (kind)
        {
            case "scalar": return (ScalarLanes.Count, (p, first, list) => ScalarLanes.AppendNonZero(*p, first, list));
            case "vector128": return (Vector128Lanes.Count, (p, first, list) => Vector128Lanes.AppendNonZero(Vector128.Load(p), first, list));
            case "vector256":
                Skip.IfNot(Avx2.IsSupported, "this CPU has no AVX2");
                return (Vector256Lanes.Count, (p, first, list) => Vector256Lanes.AppendNonZero(Vector256.Load(p), first, list));
            case "vector512":
                Skip.IfNot(Avx512F.IsSupported, "this CPU has no AVX-512");
                return (Vector512Lanes.Count, (p, first, list) => Vector512Lanes.AppendNonZero(Vector512.Load(p), first, list));
            default:
                Skip.IfNot(Avx2.IsSupported, "this CPU has no AVX2");
                return (Vector256Lanes.Count, (p, first, list) => SparseAppend.EachLane<Vector256<float>, Vector256Lanes>(Vector256.Load(p), first, list));
        }
    }

    /// <summary>
    /// SampleLists.Build on a drawn block [i0, i1) of a panel of n features (any n, blocks up to the g_h walk's
    /// <see cref="Blocking.HiddenFeatures"/>, ragged against its 8 x 8 squares): each sample lists its nonzero features in order.
    /// </summary>
    [Fact]
    public void SampleLists_list_each_samples_nonzero_features_in_order()
    {
        const int Tile = Workspace.Tile;
        var blocks =
            from n in Gen.Frequency((3, Gen.Choose(1, 2 * Blocking.HiddenFeatures + 3)), (1, Gen.Choose(1, 20)), (1, Gen.Choose(1, 5000)))
            from i0 in Gen.Choose(0, n - 1)
            from length in Gen.Choose(0, Math.Min(n - i0, Math.Min(Blocking.HiddenFeatures, n)))
            from values in Gen.ArrayOf(Properties.SparseFloats, length * Tile)
            select (n, i0, i1: i0 + length, values);
        Properties.Check(Prop.ForAll(blocks.ToArbitrary(), block =>
        {
            var (n, i0, i1, values) = block;
            var panel = new float[i1 * Tile];
            values.CopyTo(panel, i0 * Tile);
            int room = SampleLists.Room(n), end = Tile * room + SparseAppend.Slack;
            var lists = new SparseEntry[end + Guard];
            Array.Fill(lists, Sentinel, end, Guard);
            var counts = new int[Tile];
            fixed (float* p = panel)
            fixed (SparseEntry* l = lists)
            fixed (int* c = counts)
                SampleLists.Build(p, i0, i1, n, l, c);
            for (int sample = 0; sample < Tile; sample++)
            {
                var column = Enumerable.Range(i0, i1 - i0).Select(i => panel[i * Tile + sample]);
                Assert.Equal(NonZero(column, i0), Listed(lists, sample * room, counts[sample]));
            }
            Assert.All(lists[end..], e => Assert.Equal(Sentinel, e));
        }), cases: 60, seed: 41);
    }

    /// <summary>
    /// The mask-driven builders (SampleLists.FromMasks, SparseAppend.Bits) on drawn sparse blocks: the same lists as
    /// the plain loop, with all-zero rows, single nonzeros and full rows among the draws; Bits writes nothing past its list.
    /// </summary>
    [Fact]
    public void Lists_from_masks_keep_what_the_plain_loop_keeps()
    {
        const int Tile = Workspace.Tile;
        var sparse = Gen.Frequency((12, Gen.Constant(0f)), (1, Properties.SparseFloats));
        var rowsOf =
            from kind in Gen.Choose(0, 3)
            from row in kind == 0 ? Gen.Constant(new float[Tile]) : kind == 1 ? Gen.ArrayOf(Properties.SparseFloats, Tile) : Gen.ArrayOf(sparse, Tile)
            select row;
        var blocks =
            from n in Gen.Choose(1, 2 * Blocking.HiddenFeatures + 3)
            from i0 in Gen.Choose(0, n - 1)
            from length in Gen.Choose(0, Math.Min(n - i0, Math.Min(Blocking.HiddenFeatures, n)))
            from rows in Gen.ArrayOf(rowsOf, length)
            from first in Gen.Choose(0, 1 << 20)
            select (n, i0, i1: i0 + length, rows, first);
        Properties.Check(Prop.ForAll(blocks.ToArbitrary(), block =>
        {
            var (n, i0, i1, rows, first) = block;
            var panel = new float[i1 * Tile];
            var masks = new ulong[Math.Max(1, i1 - i0)];
            for (int i = i0; i < i1; i++)
                for (int l = 0; l < Tile; l++)
                {
                    panel[i * Tile + l] = rows[i - i0][l];
                    if (rows[i - i0][l] != 0f) masks[i - i0] |= 1UL << l;
                }
            int room = SampleLists.Room(n), end = Tile * room;
            var lists = new SparseEntry[end + Guard];
            Array.Fill(lists, Sentinel, end, Guard);
            var counts = new int[Tile];
            var row = new SparseEntry[Tile + Guard];
            fixed (float* p = panel)
            fixed (ulong* k = masks)
            fixed (SparseEntry* l = lists)
            fixed (SparseEntry* r = row)
            fixed (int* c = counts)
            {
                SampleLists.FromMasks(p, k, i0, i1, n, l, c);
                for (int i = i0; i < i1; i++)
                {
                    Array.Fill(row, Sentinel);
                    int count = SparseAppend.Bits(p + i * Tile, masks[i - i0], first, r);
                    Assert.Equal(NonZero(rows[i - i0], first), Listed(row, 0, count));
                    Assert.All(row[count..], e => Assert.Equal(Sentinel, e));
                }
            }
            for (int sample = 0; sample < Tile; sample++)
            {
                var column = Enumerable.Range(i0, i1 - i0).Select(i => panel[i * Tile + sample]);
                Assert.Equal(NonZero(column, i0), Listed(lists, sample * room, counts[sample]));
            }
            Assert.All(lists[end..], e => Assert.Equal(Sentinel, e));
        }), cases: 60, seed: 43);
    }
}
