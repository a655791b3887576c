using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Loops;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Tests.Backends;

/// <summary>
/// RowPieces.ResumeRestPair against the plain definition, at every lane width: for each lane of the rest, each of the
/// two chains resumes from its output and folds fma(row[index][lane], value, acc) over its own list in order.
/// Ragged lists (either longer, either empty), rests of 1 to 4 vectors, and rests that cross a 64-lane tile.
/// Vector512 runs through .NET's software fallback where the CPU lacks AVX-512: the same generic code, the same bits.
/// </summary>
public sealed unsafe class RowPiecesPairTests
{
    private const int Tile = Workspace.Tile, Rows = 37, Tiles = 3;

    public static TheoryData<string> LaneKinds => new() { "scalar", "vector128", "vector256", "vector512" };

    [SkippableTheory]
    [MemberData(nameof(LaneKinds))]
    public void Two_chains_in_one_pass_give_the_bits_of_each_chain_alone(string kind)
    {
        int width = kind switch { "scalar" => ScalarLanes.Count, "vector128" => Vector128Lanes.Count, "vector256" => Vector256Lanes.Count, _ => Vector512Lanes.Count };
        if (kind == "vector256") Skip.IfNot(Avx2.IsSupported, "this CPU has no AVX2");
        var random = new Random(17 + width);
        int cases = 0;
        foreach (int j in new[] { 0, 16, 48, 64 })
            for (int vectors = 1; vectors <= RowPieces.PairedVectors; vectors++)
                foreach (var (countA, countB) in new[] { (0, 5), (5, 0), (1, 1), (7, 3), (3, 7), (40, 41) })
                {
                    int end = j + vectors * width;
                    if (end > Tiles * Tile) continue;
                    Check(kind, random, j, end, countA, countB);
                    cases++;
                }
        Assert.True(cases >= 60, $"only {cases} cases ran");
    }

    private static void Check(string kind, Random random, int j, int end, int countA, int countB)
    {
        // rows: element (r, lane) at r * Tile + (lane / 64) * (Rows * Tile) + lane % 64, tile-major as h is.
        nint tileStride = Rows * Tile;
        var rows = Draw(random, Tiles * Rows * Tile);
        var listA = List(random, countA);
        var listB = List(random, countB);
        var outputA = Draw(random, Tiles * Tile);
        var outputB = Draw(random, Tiles * Tile);
        var expectedA = Plain(rows, tileStride, listA, outputA, j, end);
        var expectedB = Plain(rows, tileStride, listB, outputB, j, end);
        fixed (float* r = rows)
        fixed (SparseEntry* a = listA, b = listB)
        fixed (float* oa = outputA, ob = outputB)
        {
            switch (kind)
            {
                case "scalar": RowPieces.ResumeRestPair<float, ScalarLanes>(r, Tile, tileStride, j, end, Tile, a, countA, oa, b, countB, ob); break;
                case "vector128": RowPieces.ResumeRestPair<Vector128<float>, Vector128Lanes>(r, Tile, tileStride, j, end, Tile, a, countA, oa, b, countB, ob); break;
                case "vector256": RowPieces.ResumeRestPair<Vector256<float>, Vector256Lanes>(r, Tile, tileStride, j, end, Tile, a, countA, oa, b, countB, ob); break;
                default: RowPieces.ResumeRestPair<Vector512<float>, Vector512Lanes>(r, Tile, tileStride, j, end, Tile, a, countA, oa, b, countB, ob); break;
            }
        }
        string at = $"{kind}, lanes [{j}, {end}), counts {countA} and {countB}";
        Assert.True(expectedA.Select(BitConverter.SingleToInt32Bits).SequenceEqual(outputA.Select(BitConverter.SingleToInt32Bits)), $"chain a, {at}");
        Assert.True(expectedB.Select(BitConverter.SingleToInt32Bits).SequenceEqual(outputB.Select(BitConverter.SingleToInt32Bits)), $"chain b, {at}");
    }

    /// <summary>The definition: lanes [j, end) resumed and folded in list order; every other lane untouched.</summary>
    private static float[] Plain(float[] rows, nint tileStride, SparseEntry[] list, float[] output, int j, int end)
    {
        var result = (float[])output.Clone();
        for (int lane = j; lane < end; lane++)
        {
            float acc = output[lane];
            foreach (var entry in list)
                acc = MathF.FusedMultiplyAdd(rows[entry.Index * Tile + (lane / Tile) * tileStride + lane % Tile], entry.Value, acc);
            result[lane] = acc;
        }
        return result;
    }

    private static float[] Draw(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1) * MathF.Pow(2, random.Next(-20, 20))).ToArray();

    private static SparseEntry[] List(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => new SparseEntry { Index = random.Next(Rows), Value = (float)(random.NextDouble() * 2 - 1) }).ToArray();
}
