using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Kernels;
using ToyModels.Backends.Simd.Lanes;
using Xunit;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// SampleLists.Build (the per-sample lists of the sparse g_h walk; transposed 8 x 8 squares where AVX2 is
/// there) against the plain definition: per sample, its nonzero g_z in ascending feature order, on ragged blocks.
/// </summary>
public sealed unsafe class SampleListsTests
{
    public static TheoryData<int, int, int> Blocks => new()
    {
        { 0, 96, 4096 }, { 8, 21, 33 }, { 3, 10, 17 }, { 0, 7, 7 }, { 0, 1, 1 }, { 40, 96, 509 },
    };

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Each_sample_lists_its_nonzero_features_in_order(int i0, int i1, int n)
    {
        const int Tile = Workspace.Tile;
        var random = new Random(i0 * 131 + i1 * 7 + n);
        float[] specials = [0f, -0f, float.NaN, float.Epsilon, -1e-30f, 3f];
        var panel = new float[i1 * Tile];
        for (int e = i0 * Tile; e < panel.Length; e++)
            panel[e] = random.Next(4) != 0 ? 0f : random.Next(5) == 0 ? specials[random.Next(specials.Length)] : (float)random.NextDouble() - 0.5f;
        int room = SampleLists.Room(n);
        var lists = new SparseEntry[Tile * room + SparseAppend.Slack];
        var counts = new int[Tile];
        fixed (float* p = panel)
        fixed (SparseEntry* l = lists)
        fixed (int* c = counts)
            SampleLists.Build(p, i0, i1, n, l, c);
        for (int sample = 0; sample < Tile; sample++)
        {
            var expected = new List<(int, uint)>();
            for (int i = i0; i < i1; i++)
                if (panel[i * Tile + sample] != 0f) expected.Add((i, Bits.Canonical(panel[i * Tile + sample])));
            var got = Enumerable.Range(0, counts[sample])
                .Select(e => (lists[sample * room + e].Index, Bits.Canonical(lists[sample * room + e].Value))).ToList();
            Assert.Equal(expected, got);
        }
    }
}
