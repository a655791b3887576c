using ToyModels.Backends;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The backend test suite, written once and run for every backend (one derived class per backend
/// and setting): every operation and whole multi-step runs compared bit for bit with the scalar
/// reference, across <see cref="ParityCases"/>.
/// </summary>
public abstract class BackendSuite
{
    /// <summary>A fresh backend of the kind under test, holding the initial parameters.</summary>
    protected abstract IBackend Create(AutoencoderConfig config);

    /// <summary>Why this backend cannot run here (the tests are then skipped, saying so), or null.</summary>
    protected virtual string? SkipReason => null;

    protected internal static IBackend Reference(AutoencoderConfig config) => BackendFactory.Create(BackendKind.Reference, config);

    protected void SkipIfUnavailable() => Skip.If(SkipReason is not null, SkipReason);

    /// <summary>Why a backend forced to <paramref name="set"/> cannot run on this machine, or null.</summary>
    private protected static string? Unavailable(InstructionSet set) =>
        set > InstructionSets.Best ? $"{InstructionSets.Name(set)} is not available on this machine" : null;

    /// <summary><paramref name="backend"/> holding the initial parameters of <paramref name="config"/>.</summary>
    protected internal static IBackend Initialized(IBackend backend, AutoencoderConfig config)
    {
        backend.SetParameters(Initialization.Create(config));
        return backend;
    }

    /// <summary>Steps both backends <paramref name="steps"/> times from step 0, comparing the row losses after each.</summary>
    protected static void StepBoth(IBackend expected, IBackend actual, OptimizerScalars scalars, int steps, string label)
    {
        for (long step = 0; step < steps; step++)
        {
            expected.Step(scalars.Set(step));
            actual.Step(scalars);
            Compare(expected, actual, TensorKind.RowLoss, $"{label}, step {step}");
        }
    }

    /// <summary>
    /// GenerateBatch, Forward, Backward and Update of step <paramref name="step"/> on both backends, comparing x, h, z,
    /// the row losses and the gradients, then parameters and state.
    /// </summary>
    protected static void OperationsBoth(IBackend expected, IBackend actual, OptimizerScalars scalars, long step, string at)
    {
        expected.GenerateBatch(step); actual.GenerateBatch(step);
        Compare(expected, actual, TensorKind.X, at);
        expected.Forward(); actual.Forward();
        Compare(expected, actual, TensorKind.H, at);
        Compare(expected, actual, TensorKind.Z, at);
        expected.Backward(); actual.Backward();
        Compare(expected, actual, TensorKind.RowLoss, at);
        Compare(expected, actual, TensorKind.Gradients, at);
        expected.Update(scalars.Set(step)); actual.Update(scalars);
        CompareState(expected, actual, at);
    }

    /// <summary>Both backends from <paramref name="parameters"/> through the operations of step 0 (<see cref="OperationsBoth(IBackend, IBackend, OptimizerScalars, long, string)"/>).</summary>
    protected static void OperationsBoth(IBackend expected, IBackend actual, float[] parameters, string at)
    {
        expected.SetParameters(parameters);
        actual.SetParameters(parameters);
        OperationsBoth(expected, actual, new OptimizerScalars(expected.Config), 0, at);
    }

    [SkippableTheory]
    [MemberData(nameof(ParityCases.Names), MemberType = typeof(ParityCases))]
    public void Every_operation_matches_the_reference(string name)
    {
        SkipIfUnavailable();
        var config = ParityCases.Get(name);
        using var expected = Reference(config);
        using var actual = Create(config);
        var scalars = new OptimizerScalars(config);
        for (long step = 0; step < 3; step++)
            OperationsBoth(expected, actual, scalars, step, $"{name}, step {step}");
        int count = Math.Min(config.Batch, 5);
        var expectedRows = new float[config.InstanceCount * count];
        var actualRows = new float[config.InstanceCount * count];
        expected.Evaluate(3, count, expectedRows);
        actual.Evaluate(3, count, actualRows);
        Bits.Equal(expectedRows, actualRows, $"{name}: evaluation row losses");
        Compare(expected, actual, TensorKind.X, $"{name}: evaluation x");
        Compare(expected, actual, TensorKind.Z, $"{name}: evaluation z");
    }

    [SkippableTheory]
    [MemberData(nameof(ParityCases.Names), MemberType = typeof(ParityCases))]
    public void Whole_steps_match_the_reference(string name)
    {
        SkipIfUnavailable();
        var config = ParityCases.Get(name);
        using var expected = Reference(config);
        using var actual = Create(config);
        StepBoth(expected, actual, new OptimizerScalars(config), 12, name);
        CompareState(expected, actual, $"{name}, after 12 steps");
        Assert.Equal(Hash(expected), Hash(actual));
    }

    [SkippableFact]
    public void Step_gives_the_bits_of_the_four_operations()
    {
        SkipIfUnavailable();
        var config = ParityCases.Make(65, 19, 40, false, true, 0.1, Importance.Uniform, 2);
        using var fused = Create(config);
        using var separate = Create(config);
        var scalars = new OptimizerScalars(config);
        for (long step = 0; step < 6; step++)
        {
            fused.Step(scalars.Set(step));
            separate.GenerateBatch(step);
            separate.Forward();
            separate.Backward();
            separate.Update(scalars);
            Compare(separate, fused, TensorKind.RowLoss, $"step {step}");
        }
        CompareState(separate, fused, "after 6 steps");
    }

    /// <summary>
    /// A second Backward of one training batch (after, say, reading the gradients) gives the same bits as the first
    /// and as the reference: whatever a backend derives from the batch is not consumed by the first. Several panels
    /// with a ragged last one, and two instances.
    /// </summary>
    [SkippableFact]
    public void A_second_Backward_of_one_batch_gives_the_same_gradients()
    {
        SkipIfUnavailable();
        var config = ParityCases.Make(61, 13, 131, false, true, 0.3, Importance.Uniform, 2);
        using var expected = Reference(config);
        using var actual = Create(config);
        var scalars = new OptimizerScalars(config);
        StepBoth(expected, actual, scalars, 2, "two steps");
        void Both(Action<IBackend> operation, string at)
        {
            operation(expected);
            operation(actual);
            Compare(expected, actual, TensorKind.Gradients, at);
        }
        Both(b => { b.GenerateBatch(2); b.Forward(); b.Backward(); }, "the first Backward");
        Both(b => b.Backward(), "a second Backward of the same batch");
        Both(b => { b.GenerateBatch(3); b.Forward(); b.Backward(); }, "the next batch after two Backwards");
    }

    /// <summary>
    /// Issue: reading the gradients after a Step threw on simd only (and x, h, z on instance lanes only). Every
    /// tensor reads the same way on every backend after a Step: the row losses as the reference's bits; x, h, z
    /// and the gradients, and an Update that would apply them, refused with InvalidOperationException until the
    /// operation that makes them again.
    /// </summary>
    [SkippableFact]
    public void After_a_Step_every_backend_keeps_the_row_losses_and_refuses_the_rest_alike()
    {
        SkipIfUnavailable();
        var config = ParityCases.Make(37, 9, 21, false, true, 0.2, Importance.Uniform, 2);
        using var expected = Reference(config);
        using var actual = Create(config);
        var scalars = new OptimizerScalars(config);
        StepBoth(expected, actual, scalars, 2, "two steps");
        Compare(expected, actual, TensorKind.RowLoss, "after a Step");
        foreach (var backend in new[] { expected, actual })
        {
            foreach (var (tensor, until) in new[] { (TensorKind.X, "GenerateBatch"), (TensorKind.H, "Forward"), (TensorKind.Z, "Forward"), (TensorKind.Gradients, "Backward") })
            {
                var buffer = new float[((Backend)backend).ElementCount(tensor)];
                var read = Assert.Throws<InvalidOperationException>(() => backend.Read(tensor, buffer));
                Assert.Contains(until, read.Message);
            }
            Assert.Throws<InvalidOperationException>(() => backend.Update(scalars.Set(2)));
        }
        foreach (var backend in new[] { expected, actual }) backend.GenerateBatch(2);
        Compare(expected, actual, TensorKind.X, "GenerateBatch after a Step");
        foreach (var backend in new[] { expected, actual }) { backend.Forward(); backend.Backward(); }
        foreach (var tensor in new[] { TensorKind.H, TensorKind.Z, TensorKind.RowLoss, TensorKind.Gradients })
            Compare(expected, actual, tensor, "Forward and Backward after a Step");
        var rows = new float[config.InstanceCount * 5];
        foreach (var backend in new[] { expected, actual }) { backend.Step(scalars.Set(2)); backend.Evaluate(0, 5, rows); }
        Compare(expected, actual, TensorKind.Z, "Evaluate after a Step");
    }

    [SkippableFact]
    public void Instances_trained_together_get_the_bits_each_gets_alone()
    {
        SkipIfUnavailable();
        var packed = ParityCases.Make(45, 11, 23, false, true, 0.1, Importance.Decay(0.95), 4);
        using var together = Create(packed);
        var scalars = new OptimizerScalars(packed);
        for (long step = 0; step < 8; step++) together.Step(scalars.Set(step));
        var all = new float[packed.Layout.Total];
        together.GetParameters(all);
        for (int s = 0; s < packed.InstanceCount; s++)
        {
            var single = packed.Single(s);
            using var alone = Create(single);
            var aloneScalars = new OptimizerScalars(single);
            for (long step = 0; step < 8; step++) alone.Step(aloneScalars.Set(step));
            var mine = new float[single.Layout.Total];
            alone.GetParameters(mine);
            Bits.Equal(mine, packed.Layout.Instance(all, s), $"instance {s}");
        }
    }

    [SkippableFact]
    public void Divergence_is_recorded_at_the_step_it_happens_and_spares_other_instances()
    {
        SkipIfUnavailable();
        var instances = new[]
        {
            new InstanceSettings(7, 0.2, 1e-3, Importance.Uniform),
            new InstanceSettings(8, 0.2, 1e36, Importance.Uniform),
        };
        var config = new AutoencoderConfig(20, 5, false, true, 16, instances, new OptimizerSettings { Kind = OptimizerKind.Sgd });
        using var expected = Reference(config);
        using var actual = Create(config);
        var scalars = new OptimizerScalars(config);
        for (long step = 0; step < 4; step++)
        {
            expected.Step(scalars.Set(step));
            actual.Step(scalars);
        }
        var e = new long[2];
        var a = new long[2];
        expected.ReadFirstNonFiniteStep(e);
        actual.ReadFirstNonFiniteStep(a);
        Assert.Equal(-1, e[0]);
        Assert.True(e[1] >= 0, "the reference should have diverged");
        Bits.Equal(e, a, "first non-finite step");
        CompareState(expected, actual, "after divergence");
    }

    [SkippableFact]
    public void State_set_on_a_fresh_backend_continues_bit_for_bit()
    {
        SkipIfUnavailable();
        var config = ParityCases.Make(70, 9, 12, true, true, 0.15, Importance.Uniform, 2);
        var scalars = new OptimizerScalars(config);
        using var straight = Create(config);
        for (long step = 0; step < 10; step++) straight.Step(scalars.Set(step));

        using var first = Create(config);
        for (long step = 0; step < 5; step++) first.Step(scalars.Set(step));
        var parameters = new float[config.Layout.Total];
        var state = new float[config.Optimizer.StateSlots * config.Layout.Total];
        first.GetParameters(parameters);
        first.GetOptimizerState(state);
        using var second = Create(config);
        second.SetParameters(parameters);
        second.SetOptimizerState(state);
        for (long step = 5; step < 10; step++) second.Step(scalars.Set(step));
        CompareState(straight, second, "resumed after 5 steps");
    }

    /// <summary>
    /// Parameters and optimizer state cross IBackend in pieces at 64-bit offsets: pieces of any length, crossing
    /// tensors, instances and optimizer slots, read the floats a whole read gives; written in any order onto a fresh
    /// backend, they continue bit for bit (nothing the backend derives from its parameters goes stale).
    /// </summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Parameters_and_state_cross_in_pieces_of_any_size_and_order(bool tied)
    {
        SkipIfUnavailable();
        var config = ParityCases.Make(37, 11, 9, tied, true, 0.2, Importance.Decay(0.9), 3);
        var scalars = new OptimizerScalars(config);
        using var source = Create(config);
        for (long step = 0; step < 3; step++) source.Step(scalars.Set(step));
        var parameters = new float[config.Layout.Total];
        var state = new float[config.OptimizerStateLength()];
        source.GetParameters(parameters);
        source.GetOptimizerState(state);

        var random = new Random(17);
        List<(int Start, int Length)> Pieces(int total)
        {
            var pieces = new List<(int, int)>();
            for (int start = 0; start < total;)
            {
                int length = Math.Min(total - start, 1 + random.Next(2 * (int)config.Layout.PerInstance));
                pieces.Add((start, length));
                start += length;
            }
            return pieces.OrderBy(_ => random.Next()).ToList();
        }
        foreach (var (start, length) in Pieces(parameters.Length))
        {
            var piece = new float[length];
            source.ReadParameters(start, piece);
            Bits.Equal(parameters.AsSpan(start, length).ToArray(), piece, $"parameters [{start}, {start + length})");
        }
        foreach (var (start, length) in Pieces(state.Length))
        {
            var piece = new float[length];
            source.ReadOptimizerState(start, piece);
            Bits.Equal(state.AsSpan(start, length).ToArray(), piece, $"optimizer state [{start}, {start + length})");
        }

        using var target = Create(config);
        foreach (var (start, length) in Pieces(parameters.Length)) target.WriteParameters(start, parameters.AsSpan(start, length));
        foreach (var (start, length) in Pieces(state.Length)) target.WriteOptimizerState(start, state.AsSpan(start, length));
        CompareState(source, target, "written in pieces");
        for (long step = 3; step < 7; step++)
        {
            source.Step(scalars.Set(step));
            target.Step(scalars);
        }
        CompareState(source, target, "4 steps after the pieces were written");

        Assert.Throws<ArgumentOutOfRangeException>(() => source.ReadParameters(config.Layout.Total - 2, new float[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.WriteOptimizerState(-1, new float[1]));
        source.ReadParameters(config.Layout.Total, Span<float>.Empty); // an empty piece at the end is allowed
    }

    /// <summary>
    /// Subnormal weights make products that round to -0, so accumulators become -0 and a zero term
    /// (x = 0, g_z = 0) would turn them into +0: a backend that runs the terms the reference skips
    /// (docs/numerics.md) fails here. The test checks that its inputs really reach that corner.
    /// </summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Zero_terms_are_skipped_exactly_where_the_reference_skips_them(bool tied)
    {
        SkipIfUnavailable();
        var config = ParityCases.Make(37, 11, 29, tied, true, 0.5, Importance.Uniform, 2);
        var parameters = SubnormalWeights(config);
        using var expected = Reference(config);
        using var actual = Create(config);
        OperationsBoth(expected, actual, parameters, "subnormal weights");

        expected.SetParameters(parameters);
        actual.SetParameters(parameters);
        var rows = new float[config.InstanceCount * 9];
        expected.Evaluate(5, 9, rows);
        actual.Evaluate(5, 9, rows);
        Compare(expected, actual, TensorKind.H, "subnormal weights, evaluation");

        using var probe = Reference(config);
        probe.SetParameters(parameters);
        probe.GenerateBatch(0);
        probe.Forward();
        Assert.True(EncoderChainsThatAZeroTermWouldChange(probe) > 0, "the inputs never reach an accumulator of -0 followed by a zero term");
        var gradients = new float[config.Layout.Total];
        probe.Backward();
        probe.Read(TensorKind.Gradients, gradients);
        // Untied gradients keep the chains' -0 (tied ones end in gW_in + gW_out^T, where -0 + +0 is +0).
        if (!tied) Assert.Contains(gradients, g => g == 0 && float.IsNegative(g));
    }

    /// <summary>W_in (and W_out) of +-1 or 2 times the smallest subnormal, biases in [-0.5, 0.5): h and the gradients' products underflow.</summary>
    private static float[] SubnormalWeights(AutoencoderConfig config)
    {
        var parameters = Initialization.Create(config);
        var random = new Random(11);
        var layout = config.Layout;
        for (int s = 0; s < config.InstanceCount; s++)
        {
            var block = layout.Instance(parameters.AsSpan(), s);
            Fill(layout.Encoder.Of(block), () => (random.Next(2) == 0 ? -1 : 1) * (1 + random.Next(2)) * float.Epsilon);
            if (!config.Tied)
                Fill(layout.Decoder.Of(block), () => (random.Next(2) == 0 ? -1 : 1) * (float)(random.NextDouble() * 1e-42));
            if (config.Bias)
                Fill(layout.BiasVector.Of(block), () => (float)(random.NextDouble() - 0.5));
        }
        return parameters;

        static void Fill(Span<float> span, Func<float> value)
        {
            for (int k = 0; k < span.Length; k++) span[k] = value();
        }
    }

    /// <summary>How many h[r][j] of instance 0 would change if the encoder ran its x = 0 terms too.</summary>
    private static int EncoderChainsThatAZeroTermWouldChange(IBackend reference)
    {
        var config = reference.Config;
        int n = config.N, m = config.M, rows = config.Batch;
        var x = new float[config.InstanceCount * rows * n];
        var h = new float[config.InstanceCount * rows * m];
        var parameters = new float[config.Layout.Total];
        reference.Read(TensorKind.X, x);
        reference.Read(TensorKind.H, h);
        reference.GetParameters(parameters);
        var wIn = config.Layout.Encoder.Of(config.Layout.Instance(parameters, 0));
        int changed = 0;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < m; j++)
            {
                float dense = 0f;
                for (int i = 0; i < n; i++) dense = MathF.FusedMultiplyAdd(wIn[j * n + i], x[r * n + i], dense);
                if (!Bits.Same(dense, h[r * m + j])) changed++;
            }
        return changed;
    }

    protected static void Compare(IBackend expected, IBackend actual, TensorKind tensor, string at)
    {
        var e = new float[((Backend)expected).ElementCount(tensor)];
        var a = new float[e.Length];
        expected.Read(tensor, e);
        actual.Read(tensor, a);
        Bits.Equal(e, a, $"{at}: {tensor}");
    }

    protected static void CompareState(IBackend expected, IBackend actual, string at)
    {
        var config = expected.Config;
        var e = new float[config.Layout.Total];
        var a = new float[config.Layout.Total];
        expected.GetParameters(e);
        actual.GetParameters(a);
        Bits.Equal(e, a, $"{at}: parameters");
        e = new float[config.Optimizer.StateSlots * config.Layout.Total];
        a = new float[e.Length];
        expected.GetOptimizerState(e);
        actual.GetOptimizerState(a);
        Bits.Equal(e, a, $"{at}: optimizer state");
    }

    protected static string Hash(IBackend backend)
    {
        var parameters = new float[backend.Config.Layout.Total];
        backend.GetParameters(parameters);
        return WeightsHash.Of(parameters);
    }
}

/// <summary>The reference against a second, independent reference: determinism, and the suite's own checks (fused step, packing, divergence, resume).</summary>
public sealed class ReferenceBackendTests : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) => BackendFactory.Create(BackendKind.Reference, config);
}

/// <summary>Issue: <c>new SimdBackend(config)</c> left the weights at zero; only the factory initialised them.</summary>
public sealed class BackendConstructionTests
{
    [Fact]
    public void Only_the_factory_makes_backends_so_none_is_seen_with_uninitialised_weights()
    {
        var assemblies = new[] { typeof(IBackend).Assembly, typeof(ToyModels.Gpu.GpuBackendProvider).Assembly };
        var backends = assemblies.SelectMany(a => a.GetTypes()).Where(t => typeof(IBackend).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface).ToList();
        Assert.Contains(typeof(ToyModels.Backends.Simd.SimdBackend), backends);
        // An internal type is out of an embedder's reach whatever its constructors; a public one must have none public.
        var constructible = backends.Where(t => t.IsPublic && t.GetConstructors().Length > 0).Select(t => t.FullName).ToList();
        Assert.True(constructible.Count == 0, $"public backends with a public constructor: {string.Join(", ", constructible)}");

        var config = ParityCases.Make(9, 4, 3, false, true, 0.5, Importance.Uniform, 1);
        using var backend = BackendFactory.Create(BackendKind.Simd, config);
        var parameters = new float[config.Layout.Total];
        backend.GetParameters(parameters);
        Assert.Equal(WeightsHash.Of(Initialization.Create(config)), WeightsHash.Of(parameters));
    }
}
