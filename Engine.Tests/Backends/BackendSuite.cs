using ToyModels.Backends;
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

    protected static IBackend Reference(AutoencoderConfig config) => BackendFactory.Create(BackendKind.Reference, config);

    private void SkipIfUnavailable() => Skip.If(SkipReason is not null, SkipReason);

    [SkippableTheory]
    [MemberData(nameof(ParityCases.Names), MemberType = typeof(ParityCases))]
    public void Every_operation_matches_the_reference(string name)
    {
        SkipIfUnavailable();
        var config = ParityCases.Get(name);
        using var expected = Reference(config);
        using var actual = Create(config);
        var scalars = new OptimizerStep(config);
        for (long step = 0; step < 3; step++)
        {
            string at = $"{name}, step {step}";
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
        var scalars = new OptimizerStep(config);
        for (long step = 0; step < 12; step++)
        {
            expected.Step(scalars.Set(step));
            actual.Step(scalars);
            Compare(expected, actual, TensorKind.RowLoss, $"{name}, step {step}");
        }
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
        var scalars = new OptimizerStep(config);
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

    [SkippableFact]
    public void Instances_trained_together_get_the_bits_each_gets_alone()
    {
        SkipIfUnavailable();
        var packed = ParityCases.Make(45, 11, 23, false, true, 0.1, Importance.Decay(0.95), 4);
        using var together = Create(packed);
        var scalars = new OptimizerStep(packed);
        for (long step = 0; step < 8; step++) together.Step(scalars.Set(step));
        var all = new float[packed.Layout.Total];
        together.GetParameters(all);
        for (int s = 0; s < packed.InstanceCount; s++)
        {
            var single = packed.Single(s);
            using var alone = Create(single);
            var aloneScalars = new OptimizerStep(single);
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
        var scalars = new OptimizerStep(config);
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
        var scalars = new OptimizerStep(config);
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
