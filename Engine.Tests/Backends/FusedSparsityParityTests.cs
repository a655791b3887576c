using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Loops;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The fused loss and g_h walk at the densities of late training, where its lists are built from each row's mask
/// of nonzero g_z: no g_z nonzero, exactly one, a few, and densities on both sides of the share at which a block's
/// sample lists switch between the masks and the 8 x 8 squares (1/8) and a row's list between its bits and its
/// vectors (8 of 64 lanes). The density is set by lowering every bias by the same amount, chosen from the
/// reference's z of step 0 so that exactly k of its elements stay positive; one fused step is then held to the
/// reference bit for bit (row losses, parameters, optimizer state) on ragged shapes, tied and untied, at every
/// instruction set this machine has and several thread counts.
/// </summary>
public sealed class FusedSparsityParityTests
{
    private const int Tile = Workspace.Tile;

    /// <summary>Shapes: n past two g_h walk blocks, m past a piece of either width, batches ragged against the panels.</summary>
    public static TheoryData<int, int, int, bool> Shapes() => new()
    {
        { 2 * Blocking.HiddenFeatures + 5, RowPieces.Span(Vector512Lanes.Count) + 3 * Workspace.Alignment - 5, 2 * Tile + 7, false },
        { Blocking.HiddenFeatures + 3, RowPieces.Span(Vector256Lanes.Count) + 5, Tile - 3, true },
        { 9, 33, Tile + 1, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_fused_walk_matches_the_reference_from_no_nonzero_g_z_to_dense(int n, int m, int batch, bool tied)
    {
        var config = ParityCases.Make(n, m, batch, tied, true, 0.3, Importance.Decay(0.97), 1);
        long elements = (long)n * batch;
        // Elements of z left positive: none, one, two, a few, around 1/8 (a block's switch) and above.
        var positives = new[] { 0L, 1, 2, 7, elements / 10, elements / 8 - 1, elements / 8 + 1, elements / 5, elements / 2 }
            .Where(k => k >= 0 && k <= elements).Distinct();
        float[] sorted = SortedZ(config);
        foreach (long k in positives)
        {
            // Between the k-th largest z and the next: z - shift > 0 for exactly the k largest (ties aside).
            float above = k == 0 ? sorted[^1] + 1f : sorted[^(int)k], below = k == elements ? above - 1f : sorted[^(int)(k + 1)];
            if (k > 0 && above == below) continue;
            float shift = k == 0 ? above : (above + below) / 2f;
            var parameters = Initialization.Create(config);
            var bias = config.Layout.BiasVector.Of(parameters.AsSpan());
            for (int i = 0; i < bias.Length; i++) bias[i] -= shift;
            var expected = Run(BackendFactory.Create(BackendKind.Reference, config), config, parameters);
            foreach (var set in new[] { InstructionSet.Scalar, InstructionSet.Sse, InstructionSet.Avx2, InstructionSet.Avx512 })
            {
                if (set > InstructionSets.Best) continue;
                foreach (int threads in new[] { 1, 3 })
                {
                    var actual = Run(new SimdBackend(config, threads, set) { DenseDensity = 2.0 }, config, parameters);
                    for (int t = 0; t < expected.Count; t++)
                        Bits.Equal(expected[t].Values, actual[t].Values, $"n{n} m{m} B{batch} tied {tied}, {k} positive, {set}, {threads} threads: {expected[t].What}");
                }
            }
        }
    }

    /// <summary>The reference's z of step 0 from the initial parameters, ascending.</summary>
    private static float[] SortedZ(AutoencoderConfig config)
    {
        using var reference = BackendFactory.Create(BackendKind.Reference, config);
        reference.SetParameters(Initialization.Create(config));
        reference.GenerateBatch(0);
        reference.Forward();
        var z = new float[((Backend)reference).ElementCount(TensorKind.Z)];
        reference.Read(TensorKind.Z, z);
        Array.Sort(z);
        return z;
    }

    /// <summary>Two steps (the first chooses the fused walk when the threshold is above 1), then what they left.</summary>
    private static List<(string What, float[] Values)> Run(IBackend backend, AutoencoderConfig config, float[] parameters)
    {
        using var _ = backend;
        backend.SetParameters(parameters);
        var scalars = new OptimizerScalars(config);
        var tensors = new List<(string, float[])>();
        for (long step = 0; step < 2; step++)
        {
            backend.Step(scalars.Set(step));
            tensors.Add(($"step {step} row losses", BackendTensors.Read(backend, TensorKind.RowLoss)));
        }
        BackendTensors.AddState(tensors, backend, config);
        return tensors;
    }
}
