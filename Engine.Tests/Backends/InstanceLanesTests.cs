using ToyModels.Backends;
using ToyModels.Backends.Simd.InstanceLanes;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The backend suite with every case forced onto the SIMD backend's instance-lane layout (one model per
/// vector lane), at each vector width: 16, 8, 4 and 1 lanes, so cases with more instances than lanes
/// span several groups and threads.
/// </summary>
public abstract class InstanceLanesSuite(InstructionSet set, int threads) : BackendSuite
{
    protected override string? SkipReason => Unavailable(set);

    protected override IBackend Create(AutoencoderConfig config) => Initialized(new InstanceLanesBackend(config, threads, set), config);

    /// <summary>More instances than lanes at every width, different p, lr and importance per instance, every optimizer.</summary>
    [SkippableTheory]
    [InlineData(OptimizerKind.Adam, false)]
    [InlineData(OptimizerKind.AdamW, true)]
    [InlineData(OptimizerKind.Sgd, false)]
    public void Many_groups_of_instances_match_the_reference(OptimizerKind kind, bool tied)
    {
        SkipIfUnavailable();
        var instances = Enumerable.Range(0, 37)
            .Select(s => new InstanceSettings(100 + (ulong)s, 0.02 + 0.03 * (s % 9), 1e-3 * (1 + s % 5), s % 2 == 0 ? Importance.Uniform : Importance.Decay(0.9)))
            .ToArray();
        var optimizer = new OptimizerSettings { Kind = kind, Momentum = kind == OptimizerKind.Sgd ? 0.9 : 0, WeightDecay = 0.01 };
        var config = new AutoencoderConfig(20, 5, tied, true, 67, instances, optimizer);
        using var expected = Reference(config);
        using var actual = Create(config);
        var scalars = new OptimizerStep(config);
        StepBoth(expected, actual, scalars, 7, "37 instances");
        CompareState(expected, actual, "after 7 steps");
        foreach (var backend in new[] { expected, actual })
        {
            backend.GenerateBatch(7);
            backend.Forward();
            backend.Backward();
        }
        Compare(expected, actual, TensorKind.Gradients, "step 7's gradients");
        var e = new float[37 * 40];
        var a = new float[37 * 40];
        expected.Evaluate(1000, 40, e);
        actual.Evaluate(1000, 40, a);
        Bits.Equal(e, a, "evaluation rows");
    }
}

public sealed class InstanceLanesAvx512Tests() : InstanceLanesSuite(InstructionSet.Avx512, 2);
public sealed class InstanceLanesAvx2Tests() : InstanceLanesSuite(InstructionSet.Avx2, 3);
public sealed class InstanceLanesSseTests() : InstanceLanesSuite(InstructionSet.Sse, 2);
public sealed class InstanceLanesScalarTests() : InstanceLanesSuite(InstructionSet.Scalar, 3);

public class InstanceLanesChoiceTests
{
    [Fact]
    public void Simd_packs_many_small_models_into_lanes_and_trains_large_ones_alone()
    {
        var many = new AutoencoderConfig(20, 5, false, true, 64,
            Enumerable.Range(0, 8).Select(s => new InstanceSettings((ulong)s, 0.05, 1e-3, Importance.Uniform)).ToArray(), new OptimizerSettings());
        using (var backend = BackendFactory.Create(BackendKind.Simd, many)) Assert.Contains("per vector", backend.Description);
        using (var backend = BackendFactory.Create(BackendKind.Simd, AutoencoderConfig.Create(512, 128, 0.05, 1e-3, batch: 8)))
            Assert.DoesNotContain("per vector", backend.Description);
        using (var backend = BackendFactory.Create(BackendKind.Simd, many.Single(0))) Assert.DoesNotContain("per vector", backend.Description);
    }
}
