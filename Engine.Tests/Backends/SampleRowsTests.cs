using System.Runtime.Intrinsics;
using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Loops;
using ToyModels.Data;
using ToyModels.Model;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The SIMD backend's x against data stream v1 (DataStream.Sample), at every lane width: the sparse rows of
/// SampleRows, and the x^T panels StepKernels.Generate keeps beside them across steps whose density moves up and
/// down (the panel patched entry by entry, or rewritten block by block). Ragged n around every chunk size, p from 0
/// to 1 with the thresholds next to both ends, training and evaluation streams. Vector512 runs through .NET's
/// software fallback where the CPU lacks AVX-512: the same generic code, the same bits.
/// </summary>
public sealed unsafe class SampleRowsTests
{
    public static TheoryData<string> LaneKinds => new() { "scalar", "vector128", "vector256", "vector512" };

    private static readonly int[] Widths = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 300, 513];

    // 0, the smallest nonzero, p of the rug grid's ends and middle, the largest below 1, and 1 (2^32).
    private static readonly ulong[] Thresholds = [0, 1, DataStream.Threshold(0.001), DataStream.Threshold(0.0263), DataStream.Threshold(0.5), (1UL << 32) - 1, 1UL << 32];

    [SkippableTheory]
    [MemberData(nameof(LaneKinds))]
    public void Sparse_rows_list_the_reference_nonzeros_in_order(string kind)
    {
        SkipIfUnavailable(kind);
        var row = new SparseEntry[Widths.Max() + 16];
        int cases = 0;
        foreach (int n in Widths)
            foreach (ulong threshold in Thresholds)
                foreach (bool evaluation in new[] { false, true })
                    for (uint sample = 0; sample < 3; sample++)
                    {
                        uint step = evaluation ? 0u : 7 + sample;
                        ulong seed = 0x1234_5678_9ABCUL + (ulong)n;
                        var expected = Reference(seed, threshold, step, sample, n, evaluation);
                        int count = Generate(kind, seed, threshold, step, sample, evaluation, n, row);
                        Same(expected, row, count, $"{kind}, n {n}, T {threshold}, evaluation {evaluation}, sample {sample}");
                        cases++;
                    }
        Assert.Equal(Widths.Length * Thresholds.Length * 6, cases);
    }

    [SkippableTheory]
    [MemberData(nameof(LaneKinds))]
    public void An_active_feature_whose_value_is_exactly_zero_is_left_out(string kind)
    {
        SkipIfUnavailable(kind);
        // Found by searching the value stream: seed 1, training step 5, sample 2553, feature 73 has word 199 < 2^8.
        const ulong seed = 1;
        const uint step = 5, sample = 2553;
        Assert.True(Philox.Generate(73, sample, step, DataStream.TrainValue, (uint)seed, 0).X0 < 256, "the fixture's word");
        var row = new SparseEntry[160];
        // p = 1 makes every feature active; n puts the zero in the staged tail or in a whole chunk, early or late in it.
        foreach (int n in new[] { 74, 75, 80, 81, 96, 100, 129, 150 })
        {
            var expected = Reference(seed, 1UL << 32, step, sample, n, evaluation: false);
            Assert.True(expected.Count == n - 1 && !expected.ContainsKey(73), "the reference leaves feature 73 out");
            int count = Generate(kind, seed, 1UL << 32, step, sample, evaluation: false, n, row);
            Same(expected, row, count, $"{kind}, n {n}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(LaneKinds))]
    public void X_panels_follow_the_rows_as_density_moves(string kind)
    {
        SkipIfUnavailable(kind);
        // Three instances (dense, sparse, empty to full) and a batch of 2 full panels and a ragged one.
        foreach (int n in new[] { 5, 70, 129 })
        {
            const int batch = 130;
            var instances = new[]
            {
                new InstanceSettings(11, 0.5, 1e-3, Importance.Uniform),
                new InstanceSettings(12, 0.003, 1e-3, Importance.Uniform),
                new InstanceSettings(13, 1.0, 1e-3, Importance.Uniform),
            };
            var config = new AutoencoderConfig(n, 3, false, true, batch, instances, new OptimizerSettings());
            using var w = new Workspace(config, new InstanceConstants(config), 1);
            IStepKernels kernels = Kernels(kind);
            // Training steps, an evaluation of fewer rows than a batch, training again; the thresholds change between
            // calls (as if other instances) so a dense panel follows a sparse one and the other way round.
            var calls = new (int Rows, uint Step, long First, bool Evaluation, double[] P)[]
            {
                (batch, 0, 0, false, [0.5, 0.003, 1.0]),
                (batch, 1, 0, false, [0.003, 0.5, 0.0]),
                (batch, 2, 0, false, [0.5, 0.5, 1e-9]),
                (70, 0, 1000, true, [0.003, 1.0, 0.2]),
                (batch, 3, 0, false, [0.2, 0.003, 0.5]),
                (batch, 4, 0, false, [0.0, 0.003, 1.0 - 1e-9]),
            };
            foreach (var call in calls)
            {
                for (int s = 0; s < instances.Length; s++) w.Threshold[s] = DataStream.Threshold(call.P[s]);
                for (int s = 0; s < instances.Length; s++)
                    for (int p = 0; p < (call.Rows + Workspace.Tile - 1) / Workspace.Tile; p++)
                        kernels.Generate(w, s, p, call.Rows, call.Step, call.First, call.Evaluation);
                for (int s = 0; s < instances.Length; s++)
                    CheckPanels(w, s, n, batch, call.Rows, call.Step, call.First, call.Evaluation, $"{kind}, n {n}, instance {s}, call {call}");
            }
        }
    }

    private static void CheckPanels(Workspace w, int s, int n, int batch, int rows, uint step, long first, bool evaluation, string at)
    {
        const int tile = Workspace.Tile;
        for (int b = 0; b < batch; b++)
        {
            int p = b / tile, lane = b % tile;
            float* xT = w.FeaturePanelOf(w.XT, s, p);
            SparseEntry* row = w.XRows + w.SparseRow(s, b);
            int count = w.XCountOf(s)[b];
            if (b < rows)
            {
                // A live row: its sparse row and its lane of x^T are the reference's x.
                var expected = Reference(w.Seed[s], w.Threshold[s], evaluation ? 0u : step, evaluation ? (uint)(first + b) : (uint)b, n, evaluation);
                Same(expected, new ReadOnlySpan<SparseEntry>(row, count).ToArray(), count, $"{at}, row {b}");
                for (int i = 0; i < n; i++)
                {
                    float want = expected.TryGetValue(i, out float v) ? v : 0f;
                    Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(xT[i * tile + lane]), $"{at}: x^T[{i}, {b}] {xT[i * tile + lane]} for {want}");
                }
            }
            else
            {
                // A row the call left alone: its lane holds nothing its row does not list (patching it later stays right).
                var listed = new Dictionary<int, float>();
                for (int e = 0; e < count; e++) listed[row[e].Index] = row[e].Value;
                for (int i = 0; i < n; i++)
                {
                    float x = xT[i * tile + lane];
                    Assert.True(x == 0f || (listed.TryGetValue(i, out float v) && v == x), $"{at}: stale x^T[{i}, {b}] = {x}");
                }
            }
        }
    }

    /// <summary>The reference's nonzero features of one sample.</summary>
    private static Dictionary<int, float> Reference(ulong seed, ulong threshold, uint step, uint sample, int n, bool evaluation)
    {
        var x = new float[n];
        DataStream.Sample(seed, threshold, step, sample, x, evaluation);
        var nonzero = new Dictionary<int, float>();
        for (int i = 0; i < n; i++)
            if (x[i] != 0f) nonzero[i] = x[i];
        return nonzero;
    }

    private static void Same(Dictionary<int, float> expected, SparseEntry[] row, int count, string at)
    {
        Assert.True(expected.Count == count, $"{at}: {count} entries for {expected.Count}");
        var indices = expected.Keys.Order().ToArray();
        for (int e = 0; e < count; e++)
        {
            Assert.True(indices[e] == row[e].Index, $"{at}: entry {e} is feature {row[e].Index}, not {indices[e]}");
            Assert.True(BitConverter.SingleToInt32Bits(expected[indices[e]]) == BitConverter.SingleToInt32Bits(row[e].Value), $"{at}: x[{indices[e]}] {row[e].Value} for {expected[indices[e]]}");
        }
    }

    private static int Generate(string kind, ulong seed, ulong threshold, uint step, uint sample, bool evaluation, int n, SparseEntry[] row)
    {
        fixed (SparseEntry* r = row)
            return kind switch
            {
                "scalar" => SampleRows.Generate<ulong, ScalarLanes>(seed, threshold, step, sample, evaluation, n, r),
                "vector128" => SampleRows.Generate<Vector128<ulong>, Vector128Lanes>(seed, threshold, step, sample, evaluation, n, r),
                "vector256" => SampleRows.Generate<Vector256<ulong>, Vector256Lanes>(seed, threshold, step, sample, evaluation, n, r),
                _ => SampleRows.Generate<Vector512<ulong>, Vector512Lanes>(seed, threshold, step, sample, evaluation, n, r),
            };
    }

    private static IStepKernels Kernels(string kind) => kind switch
    {
        "scalar" => new StepKernels<float, ulong, ScalarLanes>(),
        "vector128" => new StepKernels<Vector128<float>, Vector128<ulong>, Vector128Lanes>(),
        "vector256" => new StepKernels<Vector256<float>, Vector256<ulong>, Vector256Lanes>(),
        _ => new StepKernels<Vector512<float>, Vector512<ulong>, Vector512Lanes>(),
    };

    private static void SkipIfUnavailable(string kind)
    {
        if (kind == "vector256") Skip.IfNot(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "this CPU has no AVX2");
        if (kind == "vector128") Skip.IfNot(System.Runtime.Intrinsics.X86.Sse2.IsSupported, "this CPU has no SSE2");
    }
}
