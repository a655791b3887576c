using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Phases;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The decoder over the kept samples only (<see cref="EmptySamples"/>): when it pays, and that z, the losses and
/// every later state keep the reference's bits when most samples are empty, across panels whose kept samples
/// straddle two panels of h^T, ragged batches, evaluation batches shorter than the training batch, tied and untied,
/// at every instruction set here and 1 to 3 threads; and the backward pass that leaves them out.
/// </summary>
public sealed class EmptySamplesTests
{
    [Theory]
    [InlineData(1024, 410, 512, true)]    // n 512, p 0.001: 60% empty, 9 of 16 panels saved
    [InlineData(1024, 410, 77, true)]
    [InlineData(1024, 410, 51, false)]    // 576 x 51 < 32 x 1024: the spreading would cost what the product saves
    [InlineData(1024, 960, 512, true)]    // one panel saved pays at m 512 (64 x 512 = 32 x 1024)
    [InlineData(1024, 960, 128, false)]   // but not at m 128
    [InlineData(1024, 1000, 512, false)]  // no whole panel saved
    [InlineData(1024, 1024, 512, false)]
    [InlineData(137, 1, 64, true)]        // ragged: 192 lanes, 128 saved
    [InlineData(137, 1, 40, false)]
    public void It_pays_when_the_panels_saved_outweigh_the_spreading(int rows, int kept, int m, bool worth) =>
        Assert.Equal(worth, EmptySamples.Worth(rows, kept, m));

    public static TheoryData<int, int, int, bool, double> Shapes() => new()
    {
        { 20, 40, 2 * Workspace.Tile + 9, false, 0.02 },   // about 2/3 empty; 3 panels, the last ragged
        { 24, 9, 3 * Workspace.Tile, true, 0.04 },         // about 1/3 empty, tied, no bias
        { 7, 33, Workspace.Tile - 5, false, 0.1 },         // one ragged panel, half empty
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Leaving_out_empty_samples_keeps_the_reference_bits(int n, int m, int batch, bool tied, double p)
    {
        var config = ParityCases.Make(n, m, batch, tied, bias: !tied, p, Importance.Decay(0.95), 2);
        var parameters = Initialization.Create(config);
        var expected = Run(BackendFactory.Create(BackendKind.Reference, config), config, parameters, out _);
        foreach (var set in new[] { InstructionSet.Scalar, InstructionSet.Sse, InstructionSet.Avx2, InstructionSet.Avx512 })
        {
            if (set > InstructionSets.Best) continue;
            foreach (int threads in new[] { 1, 2, 3 })
                foreach (bool? once in new bool?[] { true, null })
                {
                    var actual = Run(new SimdBackend(config, threads, set) { DecodeEmptyOnce = once }, config, parameters, out int kept);
                    if (once == true) Assert.True(kept > 0, $"n{n} m{m} B{batch}: no sample was left out");
                    for (int t = 0; t < expected.Count; t++)
                        Bits.Equal(expected[t].Values, actual[t].Values, $"n{n} m{m} B{batch} tied {tied}, {set}, {threads} threads, once {once}: {expected[t].What}");
                }
        }
    }

    [Fact]
    public void A_batch_of_only_empty_samples_decodes_one()
    {
        var config = ParityCases.Make(9, 13, Workspace.Tile + 3, false, true, 0.0, Importance.Uniform, 1);
        var parameters = Initialization.Create(config);
        var expected = Run(BackendFactory.Create(BackendKind.Reference, config), config, parameters, out _);
        var actual = Run(new SimdBackend(config, threads: 2) { DecodeEmptyOnce = true }, config, parameters, out int kept);
        Assert.Equal(1, kept);
        for (int t = 0; t < expected.Count; t++) Bits.Equal(expected[t].Values, actual[t].Values, expected[t].What);
    }

    public static TheoryData<int, int, int, bool, double> BackwardShapes() => new()
    {
        { 20, 40, 2 * Workspace.Tile + 9, false, 0.02 },                 // about 2/3 empty; 3 panels, the last ragged
        { 24, 9, 3 * Workspace.Tile, true, 0.04 },                       // about 1/3 empty, tied
        { 2 * Blocking.Features + 5, 70, Workspace.Tile + 7, false, 0.01 }, // past two gradient items; m past a piece and its rest
    };

    /// <summary>
    /// The backward pass leaves out the samples with no active feature: their h is +0, so the sparse gW_out walk drops
    /// their terms, and their g_h is not computed (gW_in never takes it). With the bias positive on 2 of 3 features their
    /// g_z is nonzero there, so the reference's chains have such terms. The stored gradients of a Backward and three fused
    /// steps after it keep its bits, through the unfused walk from the panels (threshold 1: the first Backward), the
    /// fused walk (threshold 2) and the default choice.
    /// </summary>
    [Theory]
    [MemberData(nameof(BackwardShapes))]
    public void Leaving_empty_samples_out_of_the_backward_pass_keeps_the_reference_bits(int n, int m, int batch, bool tied, double p)
    {
        var config = ParityCases.Make(n, m, batch, tied, bias: true, p, Importance.Decay(0.95), 2);
        var parameters = Initialization.Create(config);
        for (int s = 0; s < config.InstanceCount; s++)
        {
            Span<float> bias = config.Layout.BiasVector.Of(config.Layout.Instance(parameters.AsSpan(), s));
            for (int i = 0; i < bias.Length; i++) bias[i] = i % 3 == 2 ? -0.25f : 0.25f + 0.01f * i;
        }
        var expected = Backward(BackendFactory.Create(BackendKind.Reference, config), config, parameters, out int empty);
        Assert.True(empty > 0, $"n{n} m{m} B{batch}: no empty sample in instance 0's batch");
        foreach (var set in new[] { InstructionSet.Scalar, InstructionSet.Sse, InstructionSet.Avx2, InstructionSet.Avx512 })
        {
            if (set > InstructionSets.Best) continue;
            foreach (int threads in new[] { 1, 2, 3 })
                foreach (double? threshold in new double?[] { 1.0, 2.0, null })
                {
                    var simd = new SimdBackend(config, threads, set);
                    if (threshold is double t) simd.DenseDensity = t;
                    var actual = Backward(simd, config, parameters, out _);
                    for (int k = 0; k < expected.Count; k++)
                        Bits.Equal(expected[k].Values, actual[k].Values,
                            $"n{n} m{m} B{batch} tied {tied}, {set}, {threads} threads, threshold {threshold}: {expected[k].What}");
                }
        }
    }

    /// <summary>
    /// A bias that is not finite makes an empty sample's g_z infinite, and the reference's term fma(+0, inf, acc) NaN:
    /// the sparse gW_out walk must keep those terms, from the very first Backward after the parameters were set.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_infinite_bias_keeps_the_empty_samples_terms(bool tied)
    {
        var config = ParityCases.Make(20, 40, 2 * Workspace.Tile + 9, tied, bias: true, 0.02, Importance.Decay(0.95), 1);
        var parameters = Initialization.Create(config);
        // Weights of one sign make every h of a sample with an entry positive, so their terms of gW_out's row 3 are +inf
        // and only the empty samples' 0 x inf makes the reference's chain NaN.
        for (int k = 0; k < parameters.Length; k++) parameters[k] = MathF.Abs(parameters[k]);
        Span<float> bias = config.Layout.BiasVector.Of(parameters.AsSpan());
        bias[3] = float.PositiveInfinity;
        var expected = Gradients(BackendFactory.Create(BackendKind.Reference, config), parameters);
        Assert.Contains(expected, float.IsNaN);
        foreach (var set in new[] { InstructionSet.Scalar, InstructionSet.Avx2, InstructionSet.Avx512 })
        {
            if (set > InstructionSets.Best) continue;
            foreach (double threshold in new[] { 1.0, 2.0 })
                Bits.Equal(expected, Gradients(new SimdBackend(config, 2, set) { DenseDensity = threshold }, parameters),
                    $"tied {tied}, {set}, threshold {threshold}: backward gradients");
        }

        static float[] Gradients(IBackend backend, float[] parameters)
        {
            using var _ = backend;
            backend.SetParameters(parameters);
            backend.GenerateBatch(0);
            backend.Forward();
            backend.Backward();
            return BackendTensors.Read(backend, TensorKind.Gradients);
        }
    }

    /// <summary>
    /// A Backward's stored gradients and row losses, its update, three fused steps' row losses, then the parameters and
    /// optimizer state. <paramref name="empty"/>: instance 0's samples with no active feature in the first batch.
    /// </summary>
    private static List<(string What, float[] Values)> Backward(IBackend backend, AutoencoderConfig config, float[] parameters, out int empty)
    {
        using var _ = backend;
        backend.SetParameters(parameters);
        var tensors = new List<(string, float[])>();
        backend.GenerateBatch(0);
        var x = BackendTensors.Read(backend, TensorKind.X);
        empty = 0;
        for (int b = 0; b < config.Batch; b++)
            if (x.AsSpan(b * config.N, config.N).IndexOfAnyExcept(0f) < 0) empty++;
        backend.Forward();
        backend.Backward();
        tensors.Add(("backward gradients", BackendTensors.Read(backend, TensorKind.Gradients)));
        tensors.Add(("backward row losses", BackendTensors.Read(backend, TensorKind.RowLoss)));
        var scalars = new OptimizerScalars(config);
        backend.Update(scalars.Set(0));
        for (long step = 1; step < 4; step++)
        {
            backend.Step(scalars.Set(step));
            tensors.Add(($"step {step} row losses", BackendTensors.Read(backend, TensorKind.RowLoss)));
        }
        BackendTensors.AddState(tensors, backend, config);
        return tensors;
    }

    /// <summary>
    /// A training batch's z (after GenerateBatch and Forward), three whole steps' row losses, an evaluation batch
    /// shorter than the training batch (z and row losses), then the parameters and optimizer state. <paramref name="kept"/>:
    /// the samples the simd backend decoded for instance 0's training batch, 0 when it decoded all.
    /// </summary>
    private static List<(string What, float[] Values)> Run(IBackend backend, AutoencoderConfig config, float[] parameters, out int kept)
    {
        using var _ = backend;
        backend.SetParameters(parameters);
        var tensors = new List<(string, float[])>();
        backend.GenerateBatch(0);
        backend.Forward();
        kept = backend is SimdBackend simd ? simd.DecodedSamplesOf(0) : 0;
        tensors.Add(("training z", BackendTensors.Read(backend, TensorKind.Z)));
        var scalars = new OptimizerScalars(config);
        for (long step = 0; step < 3; step++)
        {
            backend.Step(scalars.Set(step));
            tensors.Add(($"step {step} row losses", BackendTensors.Read(backend, TensorKind.RowLoss)));
        }
        int count = config.Batch - 2;
        var rows = new float[config.InstanceCount * count];
        backend.Evaluate(5, count, rows);
        tensors.Add(("evaluation row losses", rows));
        tensors.Add(("evaluation z", BackendTensors.Read(backend, TensorKind.Z)));
        BackendTensors.AddState(tensors, backend, config);
        return tensors;
    }
}
