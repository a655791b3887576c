using ToyModels.Backends;
using ToyModels.Backends.Simd.InstanceLanes;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Data;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The backend suite with every case forced onto the SIMD backend's instance-lane layout (one model per
/// vector lane), at each vector width: 16, 8, 4 and 1 lanes, so cases with more instances than lanes
/// span several groups and threads. Steps are pipelined over the threads or taken a group per thread as the
/// backend chooses (few groups: pipelined); at 8 lanes also always a group per thread and always pipelined, and at
/// 1 lane always pipelined on 4 threads (one more block buffer than threads, so buffers are reused within a step).
/// </summary>
public abstract class InstanceLanesSuite : BackendSuite
{
    private readonly InstructionSet set;
    private readonly int threads;
    private readonly bool? pipelined;

    // Not a primary constructor: InstructionSet is internal, so the constructor may be seen only in this assembly.
    private protected InstanceLanesSuite(InstructionSet set, int threads, bool? pipelined = null) =>
        (this.set, this.threads, this.pipelined) = (set, threads, pipelined);

    protected override string? SkipReason => Unavailable(set);

    protected override IBackend Create(AutoencoderConfig config) => Initialized(new InstanceLanesBackend(config, threads, set, pipelined), config);

    /// <summary>
    /// A batch of several row blocks and several passes of the data stream, a pack of one group and one more
    /// instance (the last group has a single lane), every instance its own p: the step's blocks and pieces.
    /// </summary>
    [SkippableTheory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Several_row_blocks_and_a_ragged_last_group_match_the_reference(bool tied, bool bias)
    {
        SkipIfUnavailable();
        int lanes = (int)set;
        var instances = Enumerable.Range(0, lanes + 1)
            .Select(s => new InstanceSettings(500 + (ulong)s, 0.01 + 0.3 * s / lanes, 1e-3, Importance.Decay(0.97)))
            .ToArray();
        var config = new AutoencoderConfig(21, 6, tied, bias, 303, instances, new OptimizerSettings());
        using var expected = Reference(config);
        using var actual = Create(config);
        StepBoth(expected, actual, new OptimizerScalars(config), 3, $"{lanes + 1} instances");
        CompareState(expected, actual, "after 3 steps");
    }

    /// <summary>
    /// Products add the terms the reference skips only where both factors are on the grid (SkipZero). Lane 0's W_in column
    /// i0 is 2^-70 (normal, off the grid), so its h is off the grid exactly in the rows whose only active feature is i0:
    /// the encoder takes the select path, and gW_out's sums add every term in the blocks before the first such row and
    /// skip from its block on. Lane 1's W_out is subnormal (g_h and its gradients off the grid). Every lane keeps the
    /// reference's bits, in the separate operations and in a whole step.
    /// </summary>
    [SkippableFact]
    public void Factors_off_the_grid_in_one_lane_from_a_later_block_keep_the_reference_bits()
    {
        SkipIfUnavailable();
        int lanes = (int)set, n = 21, m = 6, blockRows = InstanceLanesBackend.RowsPerBlock(n, m, int.MaxValue, lanes), batch = blockRows + 200;
        const double sparse = 0.001;
        var (seed, i0) = LoneFeaturePast(blockRows, n, batch, sparse);
        var instances = Enumerable.Range(0, lanes + 1)
            .Select(s => new InstanceSettings(s == 0 ? seed : 700 + (ulong)s, s == 0 ? sparse : 0.1, 1e-3, Importance.Uniform)).ToArray();
        var config = new AutoencoderConfig(n, m, tied: false, bias: true, batch, instances, new OptimizerSettings());
        var parameters = Initialization.Create(config);
        var layout = config.Layout;
        var wIn = layout.Encoder.Of(layout.Instance(parameters.AsSpan(), 0));
        for (int j = 0; j < m; j++) wIn[j * n + i0] = (j % 2 == 0 ? 1 : -1) * MathF.ScaleB(1f, -70);
        var wOut = layout.Decoder.Of(layout.Instance(parameters.AsSpan(), 1));
        for (int k = 0; k < wOut.Length; k++) wOut[k] = (k % 3 - 1) * 3 * float.Epsilon;

        using var expected = Reference(config);
        using var actual = Create(config);
        OperationsBoth(expected, actual, parameters, "off the grid");

        using var stepped = Create(config);
        stepped.SetParameters(parameters);
        stepped.Step(new OptimizerScalars(config).Set(0));
        CompareState(expected, stepped, "off the grid, a whole step");
    }

    /// <summary>A seed and a feature whose first training row (step 0) as the seed's only active feature is row <paramref name="first"/> or later.</summary>
    private static (ulong Seed, int Feature) LoneFeaturePast(int first, int n, int batch, double p)
    {
        var x = new float[n];
        ulong threshold = DataStream.Threshold(p);
        for (ulong seed = 700; seed < 900; seed++)
        {
            var lone = new int[n];
            Array.Fill(lone, -1);
            for (int r = 0; r < batch; r++)
            {
                DataStream.Sample(seed, threshold, 0, (uint)r, x);
                int[] active = [.. Enumerable.Range(0, n).Where(i => x[i] != 0)];
                if (active.Length == 1 && lone[active[0]] < 0) lone[active[0]] = r;
            }
            int feature = Array.FindIndex(lone, r => r >= first);
            if (feature >= 0) return (seed, feature);
        }
        throw new InvalidOperationException($"no seed has a lone feature past row {first}");
    }

    /// <summary>
    /// The data stream's list at the edges: p 0 (no entry), 1 (every feature of every row active: mask words far past the
    /// branch-free slots), a p just above 0 and one just below 1, beside ordinary ones, in a pack of three more instances than
    /// lanes and n 23 (a last mask block of 3 features). Training and evaluation keep the reference's bits.
    /// </summary>
    [SkippableFact]
    public void Data_stream_edges_p_0_and_1_in_a_ragged_pack_match_the_reference()
    {
        SkipIfUnavailable();
        int lanes = (int)set;
        double[] p = [0, 1, 1e-9, 1 - 1e-9, 0.05, 0.5];
        var instances = Enumerable.Range(0, lanes + 3)
            .Select(s => new InstanceSettings(900 + (ulong)s, p[s % p.Length], 1e-3, Importance.Decay(0.9))).ToArray();
        var config = new AutoencoderConfig(23, 4, false, true, 70, instances, new OptimizerSettings());
        using var expected = Reference(config);
        using var actual = Create(config);
        StepBoth(expected, actual, new OptimizerScalars(config), 2, "p 0 and 1");
        CompareState(expected, actual, "after 2 steps");
        int k = instances.Length;
        var e = new float[k * 50];
        var a = new float[k * 50];
        expected.Evaluate(3, 50, e);
        actual.Evaluate(3, 50, a);
        Bits.Equal(e, a, "evaluation rows");
    }

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
        var scalars = new OptimizerScalars(config);
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
public sealed class InstanceLanesAvx2GroupPerThreadTests() : InstanceLanesSuite(InstructionSet.Avx2, 2, pipelined: false);
public sealed class InstanceLanesAvx2PipelinedTests() : InstanceLanesSuite(InstructionSet.Avx2, 2, pipelined: true);
public sealed class InstanceLanesScalarPipelinedTests() : InstanceLanesSuite(InstructionSet.Scalar, 4, pipelined: true);

public class InstanceLanesChoiceTests
{
    /// <summary>
    /// A pipelined step's tasks: every block's rows and sums exactly once; a block's sums after its rows and after the
    /// sums of the block before; a block's rows after the sums of the block that last used its buffer. So the step
    /// finishes on one thread taking the tasks in order, and on several, each waiting only for tasks taken before.
    /// </summary>
    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(3, 3)]
    [InlineData(10, 3)]
    [InlineData(31, 5)]
    [InlineData(7, 2)]
    public void Pipeline_tasks_cover_every_block_once_and_wait_only_for_earlier_tasks(int blocks, int buffers)
    {
        var rowsAt = new int[blocks];
        var sumsAt = new int[blocks];
        Array.Fill(rowsAt, -1);
        Array.Fill(sumsAt, -1);
        for (int t = 0; t < 2 * blocks; t++)
        {
            var (rows, k) = InstanceLanesBackend.PipelineTask(t, blocks, buffers);
            Assert.InRange(k, 0, blocks - 1);
            var at = rows ? rowsAt : sumsAt;
            Assert.Equal(-1, at[k]);
            at[k] = t;
        }
        for (int k = 0; k < blocks; k++)
        {
            Assert.True(rowsAt[k] < sumsAt[k], $"block {k}: rows at {rowsAt[k]}, sums at {sumsAt[k]}");
            if (k > 0) Assert.True(sumsAt[k - 1] < sumsAt[k], $"block {k}: sums after block {k - 1}'s");
            if (k >= buffers) Assert.True(sumsAt[k - buffers] < rowsAt[k], $"block {k}: rows after block {k - buffers}'s sums");
        }
    }

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
