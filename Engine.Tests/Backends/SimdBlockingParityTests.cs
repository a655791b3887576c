using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.InstanceLanes;
using ToyModels.Backends.Simd.Loops;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The SIMD backend at both sides of every constant that cuts its work (panels and tiles of 64, lane groups of
/// 16 panels, feature blocks, product rows, the g_h walk's feature blocks, gW_out's sample blocks, the dense
/// product's k-blocks, packed k, runs of k and lane chunks, ldm's rounding, the vector pieces of the sparse walks, the instance-lane layout's limits and
/// row blocks), held to the reference bit for bit on the default, always-dense and always-sparse paths. The shapes
/// are computed from the constants, so a changed constant moves its cases.
/// </summary>
public sealed class SimdBlockingParityTests
{
    private static readonly int Tile = Workspace.Tile, Alignment = Workspace.Alignment;

    /// <summary>Features, units or samples just below and just above <paramref name="size"/>.</summary>
    private static IEnumerable<int> Around(int size) => [size - 1, size + 1];

    /// <summary>Shapes (n, m, batch) around the blocks of the per-instance layout, with batches below a lane group.</summary>
    private static readonly Dictionary<string, Func<AutoencoderConfig>> Cases = Build(large: false);

    /// <summary>Batches at and past one lane group of panels (1023, 1025, 2048 today).</summary>
    private static readonly Dictionary<string, Func<AutoencoderConfig>> LargeCases = Build(large: true);

    private static Dictionary<string, Func<AutoencoderConfig>> Build(bool large)
    {
        var cases = new Dictionary<string, Func<AutoencoderConfig>>();
        void Add(string constant, int n, int m, int batch, bool tied = false, double p = 0.1, int instances = 1)
        {
            string name = $"{constant}: n{n}-m{m}-B{batch}{(tied ? "-tied" : "")}{(instances > 1 ? $"-k{instances}" : "")}";
            cases.TryAdd(name, () => ParityCases.Make(n, m, batch, tied, true, p, Importance.Decay(0.98), instances));
        }
        if (large)
        {
            // The decoder and dense g_h products take lane groups of LaneGroup panels of Tile samples.
            int group = Blocking.LaneGroup * Tile;
            foreach (int batch in Around(group)) Add("lane group", Blocking.ProductRows + 1, Tile + 1, batch);
            Add("two lane groups", 2 * Blocking.ProductRows + 1, Alignment + 1, 2 * group, tied: true);
            return cases;
        }
        foreach (int b in Around(Tile)) Add("sample panel (Workspace.Tile)", 2 * Blocking.Features + 5, 2 * Alignment + 3, b, instances: 2);
        foreach (int m in Around(Tile)) Add("hidden tile, dense product k-block", 3 * Alignment + 1, m, 2 * Tile + 3);
        foreach (int n in Around(DenseProduct.KBlock)) Add("dense g_h k-block over n", n, 2 * Alignment + 1, Tile + 3, tied: true);
        foreach (int b in Around(DenseProduct.KBlock)) Add("dense gW_out k-block over B", 3 * Alignment + 5, Alignment + 3, b);
        // The dense product packs PackedK terms of k at once and walks the lanes in chunks of LaneChunk under them.
        foreach (int m in Around(DenseProduct.PackedK)) Add("decoder packed k over m", Alignment + 5, m, Tile + 3);
        foreach (int n in Around(DenseProduct.PackedK)) Add("dense g_h packed k over n", n, Alignment + 1, Tile + 3, tied: true, p: 0.5);
        foreach (int b in Around(DenseProduct.PackedK)) Add("dense gW_out packed k over B", 2 * Alignment + 5, Alignment + 3, b);
        foreach (int b in Around(DenseProduct.LaneChunk)) Add("lane chunk over B", Tile + 5, Alignment + 7, b);
        foreach (int m in Around(DenseProduct.KRun)) Add("decoder run of k over m", Alignment + 5, m, Tile + 3);
        foreach (int b in Around(DenseProduct.KRun)) Add("dense gW_out run of k over B", 2 * Alignment + 5, Alignment + 3, b, p: 0.5);
        foreach (int n in Around(Blocking.Features)) Add("feature block (Blocking.Features)", n, Alignment + 3, Tile + 7, instances: 2);
        foreach (int n in Around(2 * Blocking.Features)) Add("two feature blocks", n, Alignment - 1, Tile + 7);
        foreach (int n in Around(Blocking.ProductRows)) Add("product rows over n (decoder)", n, Alignment + 5, Tile + 9);
        foreach (int m in Around(Blocking.ProductRows)) Add("product rows over m (dense g_h)", Tile + 9, m, Tile + 9);
        foreach (int n in Around(Blocking.HiddenFeatures)) Add("g_h walk feature block", n, 2 * Alignment - 1, Tile + 11, p: 0.05);
        foreach (int n in Around(2 * Blocking.HiddenFeatures)) Add("two g_h walk feature blocks", n, Alignment + 1, 2 * Tile - 5, p: 0.03);
        foreach (int b in Around(Blocking.GradientSamples)) Add("gW_out sample block", 2 * Alignment + 7, 2 * Alignment + 1, b);
        foreach (int b in Around(2 * Blocking.GradientSamples)) Add("two gW_out sample blocks", Alignment + 9, Alignment + 3, b, p: 0.2);
        // The sparse gW_out walk: pieces outermost over the whole batch below Blocking.WholeBatchEntries nonzero g_z a
        // feature (a batch smaller than that), blocks of samples at or above (a dense x keeps g_z dense); ragged pieces and rests.
        foreach (int m in new[] { RowPieces.Span(Vector256Lanes.Count) + 3 * Alignment - 5, RowPieces.Span(Vector512Lanes.Count) + 2 * Alignment + 3 })
            foreach (bool tied in new[] { false, true })
            {
                Add("gW_out over the whole batch", Blocking.Features + 5, m, Blocking.WholeBatchEntries - 3, tied: tied, p: 0.05);
                Add("gW_out in sample blocks", Blocking.Features + 5, m, 2 * Blocking.GradientSamples + 3, tied: tied, p: 0.95);
            }
        // ldm: m rounded up to Alignment floats and then to an odd number of cache lines.
        foreach (int m in new[] { Alignment - 1, Alignment, Alignment + 1, 2 * Alignment, 3 * Alignment + 1 })
            Add("ldm rounding", Blocking.Features + 3, m, Tile + 5);
        // The sparse walks' pieces of 8 vectors (RowPieces.Span) at each vector width, and the lanes past the last piece.
        foreach (int width in new[] { Vector256Lanes.Count, Vector512Lanes.Count })
            foreach (int m in Around(RowPieces.Span(width)))
                Add("sparse walk piece", 2 * Alignment + 5, m, Tile + 3);
        // The lanes past the last whole piece go in one pass of up to 7 vectors: 1 to 7 of 16 lanes (2, 4 or 6 of 8), tied and not.
        for (int vectors = 1; vectors <= 7; vectors++)
            Add("sparse walk rest of vectors", 2 * Alignment + 5, RowPieces.Span(Vector512Lanes.Count) + vectors * Alignment - 3, Tile + 3,
                tied: vectors % 2 == 0, p: 0.3);
        // Rests of at most RowPieces.PairedVectors vectors go two lists a pass (g_h's samples, gW_out's features), an odd one alone.
        foreach (int m in new[] { Alignment + 3, RowPieces.Span(Vector256Lanes.Count) + Alignment - 5 })
            foreach (bool tied in new[] { false, true })
                Add("short rests paired", Blocking.HiddenFeatures + 7, m, Tile + 13, tied: tied, p: 0.3);
        // The encoder and gW_in with pieces of lanes outermost (at least Blocking.PiecesOutermost entries a list), at both vector widths.
        foreach (int m in new[] { RowPieces.Span(Vector256Lanes.Count) + 3 * Alignment - 3, RowPieces.Span(Vector512Lanes.Count) + 5 * Alignment + 1 })
            foreach (bool tied in new[] { false, true })
                Add("pieces outermost", Blocking.PiecesOutermost + 13, m, 2 * Tile + 5, tied: tied, p: 0.95);
        // The encoder in blocks of HiddenFeatures features (at least Blocking.EncoderBlocks entries a sample in each), ragged pieces and rests.
        foreach (int n in Around(Blocking.HiddenFeatures)) Add("encoder feature block", n, Alignment + 3, Tile + 3, p: 0.95);
        foreach (int m in new[] { RowPieces.Span(Vector256Lanes.Count) + 3 * Alignment - 3, RowPieces.Span(Vector512Lanes.Count) + 5 * Alignment + 1 })
            foreach (bool tied in new[] { false, true })
                Add("encoder blocks of features", 2 * Blocking.HiddenFeatures + 5, m, Tile + 5, tied: tied, p: 0.95);
        // gW_in in blocks of samples (at least Blocking.PiecesOutermost entries a feature): across sample blocks, with short rests paired.
        foreach (int m in new[] { Alignment + 3, RowPieces.Span(Vector256Lanes.Count) + Alignment - 5 })
            foreach (bool tied in new[] { false, true })
                Add("gW_in in blocks of samples", Blocking.Features + 7, m, 2 * Blocking.GradientSamples + 3, tied: tied, p: 0.6);
        // SampleLists: 8 x 8 squares of (features, samples) and a short tail; CanonicalLayout moves tiles of 32 (private there).
        foreach (int n in new[] { 7, 9, 31, 33 }) Add("8 x 8 squares, layout tiles of 32", n, 33, Tile + 1, p: 0.3);
        return cases;
    }

    public static TheoryData<string> Names => new(Cases.Keys);
    public static TheoryData<string> LargeNames => new(LargeCases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void The_simd_backend_matches_the_reference_around_its_blocks(string name) => Check(name, Cases[name]());

    [Theory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(LargeNames))]
    public void The_simd_backend_matches_the_reference_at_batches_of_lane_groups(string name) => Check(name, LargeCases[name]());

    /// <summary>The simd backends the reference's record is held against: the default threshold, and each path forced.</summary>
    private static IEnumerable<(string Label, Func<AutoencoderConfig, IBackend> Create)> Variants() =>
    [
        ("default", c => BackendSuite.Initialized(new SimdBackend(c, threads: 2), c)),
        ("always dense", c => BackendSuite.Initialized(new SimdBackend(c, threads: 3) { DenseDensity = 0.0 }, c)),
        ("always sparse", c => BackendSuite.Initialized(new SimdBackend(c, threads: 2) { DenseDensity = 2.0 }, c)),
    ];

    private static void Check(string name, AutoencoderConfig config)
    {
        var expected = Record.Of(BackendSuite.Reference(config));
        foreach (var (label, create) in Variants())
            expected.AssertSame(Record.Of(create(config)), $"{name}, {label}");
    }

    /// <summary>
    /// What a backend computes in a short run: step 0 as the four operations (x, h, z, row losses, gradients, the update),
    /// then fused steps (the fused walk chosen from the last density), then the state and an evaluation.
    /// </summary>
    private sealed record Record(List<(string What, float[] Values)> Tensors)
    {
        private const int FusedSteps = 2;

        public static Record Of(IBackend backend)
        {
            using var _ = backend;
            var config = backend.Config;
            var tensors = new List<(string, float[])>();
            void Read(TensorKind tensor, string at)
            {
                var values = new float[((Backend)backend).ElementCount(tensor)];
                backend.Read(tensor, values);
                tensors.Add(($"{at}: {tensor}", values));
            }
            var scalars = new OptimizerScalars(config);
            backend.GenerateBatch(0);
            Read(TensorKind.X, "step 0");
            backend.Forward();
            Read(TensorKind.H, "step 0");
            Read(TensorKind.Z, "step 0");
            backend.Backward();
            Read(TensorKind.RowLoss, "step 0");
            Read(TensorKind.Gradients, "step 0");
            backend.Update(scalars.Set(0));
            for (long step = 1; step <= FusedSteps; step++)
            {
                backend.Step(scalars.Set(step));
                Read(TensorKind.RowLoss, $"step {step}");
            }
            BackendTensors.AddState(tensors, backend, config);
            int count = Math.Min(config.Batch, 70);
            var rows = new float[config.InstanceCount * count];
            backend.Evaluate(1000, count, rows);
            tensors.Add(("evaluation row losses", rows));
            return new Record(tensors);
        }

        public void AssertSame(Record actual, string at)
        {
            Assert.Equal(Tensors.Count, actual.Tensors.Count);
            for (int t = 0; t < Tensors.Count; t++)
                Bits.Equal(Tensors[t].Values, actual.Tensors[t].Values, $"{at}, {Tensors[t].What}");
        }
    }

    /// <summary>
    /// The factory's choice of the instance-lane layout at its limits (InstanceLanesBackend.LargestModel, FewestInstances),
    /// and its fused step's row blocks (as many rows as keep 256 KiB of activations, a private constant there): a batch
    /// just below and above one and two blocks. Every choice gives the reference's bits.
    /// </summary>
    public static TheoryData<int, int, int, int> LaneLayoutCases()
    {
        var data = new TheoryData<int, int, int, int>();
        int largest = InstanceLanesBackend.LargestModel, fewest = InstanceLanesBackend.FewestInstances;
        // n m at the limit (32 x 32) and one past it (41 x 25); one instance short of lanes paying.
        data.Add(32, largest / 32, fewest, 21);
        data.Add(41, 25, fewest, 21);
        data.Add(20, 5, fewest - 1, 21);
        int lanes = InstructionSets.Best switch { InstructionSet.Avx512 => 16, InstructionSet.Avx2 => 8, InstructionSet.Sse => 4, _ => 1 };
        foreach (var (n, m) in new[] { (20, 5), (30, 30) })
        {
            int blockRows = (256 << 10) / ((3 * n + 2 * m) * lanes * sizeof(float));
            foreach (int batch in new[] { blockRows - 1, blockRows + 1, 2 * blockRows + 1 })
                if (batch >= 1) data.Add(n, m, fewest + 3, batch);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(LaneLayoutCases))]
    public void The_instance_lane_layout_matches_the_reference_at_its_limits(int n, int m, int instances, int batch)
    {
        var list = Enumerable.Range(0, instances)
            .Select(s => new InstanceSettings(500 + (ulong)s, 0.05 + 0.04 * s, 1e-3 * (1 + s), Importance.Decay(0.97)))
            .ToArray();
        var config = new AutoencoderConfig(n, m, false, true, batch, list, new OptimizerSettings());
        using var simd = BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(Threads: 2));
        bool lanes = instances >= InstanceLanesBackend.FewestInstances && n * m <= InstanceLanesBackend.LargestModel;
        Assert.Equal(lanes, simd.Description.Contains("per vector"));
        Record.Of(BackendSuite.Reference(config)).AssertSame(Record.Of(simd), $"n{n}-m{m}-k{instances}-B{batch}");
    }
}
