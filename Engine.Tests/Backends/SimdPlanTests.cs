using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Phases;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>The SIMD backend's choice of paths per instance (a pure plan) and its blocks of instances.</summary>
public sealed class SimdPlanTests
{
    private const double Threshold = SimdBackend.DefaultDenseDensity;

    [Theory]
    [InlineData(1.0, Threshold, false)]   // before any step: the loss runs first
    [InlineData(0.2, Threshold, true)]
    [InlineData(Threshold, Threshold, false)]
    [InlineData(0.0, 0.0, false)]         // always dense: never fused
    [InlineData(1.0, 2.0, true)]          // always sparse: fused from the first step
    public void The_walk_fuses_when_the_last_density_is_below_the_threshold(double lastDensity, double threshold, bool fuses) =>
        Assert.Equal(fuses, BackwardPlan.Fuses(lastDensity, threshold));

    [Fact]
    public void The_dense_products_blocks_of_rows_are_whole_tiles_shared_out_evenly_and_never_over_the_product_rows()
    {
        const int unit = ToyModels.Backends.Simd.Loops.DenseProduct.TileRows;
        for (int total = 1; total <= 5000; total++)
        {
            int blocks = Blocking.Count(total, Blocking.ProductRows), tiles = Blocking.Count(total, unit);
            Assert.Equal(0, Blocking.Even(0, blocks, total, unit));
            Assert.Equal(total, Blocking.Even(blocks, blocks, total, unit));
            for (int b = 0; b < blocks; b++)
            {
                int start = Blocking.Even(b, blocks, total, unit), end = Blocking.Even(b + 1, blocks, total, unit);
                Assert.True(end > start, $"total {total}: block {b} is empty");
                Assert.True(end - start <= Blocking.ProductRows, $"total {total}: block {b} holds {end - start} rows");
                Assert.Equal(0, start % unit);
                // Tiles per block differ by at most one.
                int blockTiles = Blocking.Count(end, unit) - start / unit;
                Assert.InRange(blockTiles, tiles / blocks, Blocking.Count(tiles, blocks));
            }
        }
        // n 512: six blocks of 14, 14, 15, 14, 14 and 15 tiles (the last tile holding 2 rows): 258 and 254 rows to 2 threads taking them in turn.
        int[] starts = Enumerable.Range(0, 7).Select(b => Blocking.Even(b, 6, 512, unit)).ToArray();
        Assert.Equal([0, 84, 168, 258, 342, 426, 512], starts);
    }

    [Theory]
    [InlineData(16, 6, 2, 1)]    // n 512: six blocks of rows share out between 2 threads
    [InlineData(16, 1, 2, 2)]    // m 26: one block of rows, so two groups of 8 panels
    [InlineData(16, 3, 2, 2)]    // m 256: three blocks, six items
    [InlineData(16, 3, 3, 1)]
    [InlineData(16, 1, 3, 3)]
    [InlineData(32, 1, 1, 2)]    // B 2048: groups of 16 panels at most
    [InlineData(1, 1, 2, 1)]     // one panel cannot be split
    public void Dense_products_take_enough_groups_of_panels_to_share_out_among_the_threads(int panels, int rowBlocks, int threads, int groups)
    {
        Assert.Equal(groups, Blocking.LaneGroups(panels, rowBlocks, threads));
        Assert.Equal(panels, Blocking.Even(groups, groups, panels, 1));
        for (int g = 0; g < groups; g++)
            Assert.InRange(Blocking.Even(g + 1, groups, panels, 1) - Blocking.Even(g, groups, panels, 1), 1, Blocking.LaneGroup);
    }

    [Fact]
    public void Density_is_the_nonzero_share_of_g_z() => Assert.Equal(0.25, BackwardPlan.Density(1024, 64, 64));

    [Fact]
    public void Dense_g_z_with_ordinary_magnitudes_takes_both_dense_products() =>
        Assert.Equal(new BackwardPaths(HiddenGradient.Dense, DecoderGradient.Dense), Unfused(density: 0.8));

    [Fact]
    public void Sparse_g_z_takes_both_sparse_walks_from_the_panels() =>
        Assert.Equal(new BackwardPaths(HiddenGradient.Sparse, DecoderGradient.SparseFromPanels), Unfused(density: 0.59));

    [Fact]
    public void A_non_finite_factor_keeps_its_product_sparse()
    {
        Assert.Equal(new BackwardPaths(HiddenGradient.Sparse, DecoderGradient.Dense), Unfused(density: 0.9, decoderNonFinite: true));
        Assert.Equal(new BackwardPaths(HiddenGradient.Dense, DecoderGradient.SparseFromPanels), Unfused(density: 0.9, hNonFinite: true));
    }

    [Fact]
    public void Products_that_could_underflow_to_zero_stay_sparse()
    {
        // 2^-60 * 2^-44: exponents summing to -104 < -103, so a kept zero term could meet an accumulator of -0.
        float tiny = MathF.ScaleB(1f, -60), small = MathF.ScaleB(1f, -44);
        Assert.Equal(HiddenGradient.Sparse, Unfused(density: 0.9, gzSmallest: small, decoderSmallest: tiny).Hidden);
        Assert.Equal(DecoderGradient.SparseFromPanels, Unfused(density: 0.9, gzSmallest: small, hSmallest: tiny).Decoder);
        Assert.Equal(HiddenGradient.Dense, Unfused(density: 0.9, gzSmallest: MathF.ScaleB(1f, -43), decoderSmallest: tiny).Hidden);
        // All-zero g_z (smallest +inf): nothing to underflow.
        Assert.Equal(new BackwardPaths(HiddenGradient.Dense, DecoderGradient.Dense),
            BackwardPlan.Unfused(0.0, 0.0, float.PositiveInfinity, tiny, false, tiny, false));
    }

    [Fact]
    public void Empty_samples_leave_gW_out_when_their_terms_cannot_change_a_bit()
    {
        float tiny = MathF.ScaleB(1f, -60), small = MathF.ScaleB(1f, -44);
        Assert.True(BackwardPlan.SkipsEmptySamples(1e-3f, false, false, 1e-6f));
        // An h or a parameter that is not finite (an empty sample's z is the bias: 0 x inf would be NaN) keeps every term.
        Assert.False(BackwardPlan.SkipsEmptySamples(1e-3f, true, false, 1e-6f));
        Assert.False(BackwardPlan.SkipsEmptySamples(1e-3f, false, true, 1e-6f));
        // A chain that could underflow to -0 (exponents summing to -104) keeps them; -103 does not.
        Assert.False(BackwardPlan.SkipsEmptySamples(tiny, false, false, small));
        Assert.True(BackwardPlan.SkipsEmptySamples(tiny, false, false, MathF.ScaleB(1f, -43)));
        // h all zero or g_z all zero (smallest +inf): nothing can underflow.
        Assert.True(BackwardPlan.SkipsEmptySamples(float.PositiveInfinity, false, false, tiny));
        Assert.True(BackwardPlan.SkipsEmptySamples(tiny, false, false, float.PositiveInfinity));
    }

    private static BackwardPaths Unfused(double density, float gzSmallest = 1e-6f, float decoderSmallest = 1e-4f, bool decoderNonFinite = false,
        float hSmallest = 1e-3f, bool hNonFinite = false) =>
        BackwardPlan.Unfused(density, Threshold, gzSmallest, decoderSmallest, decoderNonFinite, hSmallest, hNonFinite);

    [Theory]
    [InlineData(9_400_000L, 32L << 20, 64, 1)]   // n 512, m 128: one instance per block in half of 32 MiB
    [InlineData(5L << 20, 32L << 20, 64, 3)]
    [InlineData(1000L, 32L << 20, 5, 5)]         // tiny: the whole pack
    [InlineData(1L << 30, 32L << 20, 4, 1)]      // larger than the cache: still one at a time
    [InlineData(0L, 8L << 20, 7, 7)]
    public void A_block_holds_as_many_instances_as_fit_half_the_cache(long bytes, long cache, int instances, int expected) =>
        Assert.Equal(expected, InstanceBlocks.Size(bytes, cache, instances));

    [Theory]
    [InlineData(8, 2, 1_600_000L, 7_300_000L, 32L << 20, false)]   // n 512, m 128: the pack's state fits three quarters of 32 MiB
    [InlineData(11, 2, 1_600_000L, 7_300_000L, 32L << 20, false)]
    [InlineData(12, 2, 1_600_000L, 7_300_000L, 32L << 20, true)]
    [InlineData(64, 2, 1_600_000L, 7_300_000L, 32L << 20, true)]
    [InlineData(2, 2, 50_000_000L, 31_000_000L, 32L << 20, true)]  // n 4096, m 512: one instance's state alone exceeds the cache
    [InlineData(1, 2, 50_000_000L, 31_000_000L, 32L << 20, false)] // fewer instances than threads
    [InlineData(3, 4, 50_000_000L, 31_000_000L, 32L << 20, false)]
    [InlineData(64, 1, 50_000_000L, 31_000_000L, 32L << 20, false)] // one thread
    public void Threads_take_whole_instances_once_the_packs_state_leaves_the_cache(int instances, int threads, long state, long activations, long cache, bool whole) =>
        Assert.Equal(whole, InstanceBlocks.WholePerThread(instances, threads, state, activations, cache));

    [Theory]
    [InlineData("32768K", 32L << 20)]
    [InlineData("1M", 1L << 20)]
    [InlineData("512", 512L)]
    public void Cache_sizes_read_as_sysfs_writes_them(string text, long bytes) => Assert.Equal(bytes, InstanceBlocks.ParseSize(text));

    [Fact]
    public void The_last_level_cache_is_found_or_the_fallback_given() => Assert.True(InstanceBlocks.LastLevelCache(fallback: 12345) > 0);

    /// <summary>
    /// Three instances in one block whose g_z densities differ: a bias of -8 leaves g_z almost empty, +8 makes it
    /// full. The first step has no density to guess from (every instance unfused: sparse, dense); on the next the
    /// sparse ones fuse while the dense one does not, in the same block. Every step matches the reference.
    /// </summary>
    [Fact]
    public void Instances_of_one_block_take_their_own_paths_with_the_reference_bits()
    {
        var config = ParityCases.Make(40, 9, 70, false, true, 0.1, Importance.Uniform, 3, lr: 1e-4);
        var parameters = Initialization.Create(config);
        float[] biases = [-8f, 8f, -8f];
        for (int s = 0; s < 3; s++) config.Layout.BiasVector.Of(config.Layout.Instance(parameters.AsSpan(), s)).Fill(biases[s]);
        using var expected = BackendFactory.Create(BackendKind.Reference, config);
        using var actual = new SimdBackend(config, threads: 2) { InstanceBlock = 3, InstancesPerThread = false };
        expected.SetParameters(parameters);
        actual.SetParameters(parameters);
        var scalars = new OptimizerScalars(config);
        var seen = new List<BackwardPaths>[3];
        for (int s = 0; s < 3; s++) seen[s] = [];
        for (long step = 0; step < 4; step++)
        {
            expected.Step(scalars.Set(step));
            actual.Step(scalars);
            for (int s = 0; s < 3; s++) seen[s].Add(actual.PathsOf(s));
            var e = new float[3 * config.Batch];
            var a = new float[e.Length];
            expected.Read(TensorKind.RowLoss, e);
            actual.Read(TensorKind.RowLoss, a);
            Bits.Equal(e, a, $"row losses, step {step}");
        }
        Assert.Equal(new BackwardPaths(HiddenGradient.Sparse, DecoderGradient.SparseFromPanels), seen[0][0]);
        Assert.Equal(new BackwardPaths(HiddenGradient.Dense, DecoderGradient.Dense), seen[1][0]);
        Assert.All(seen[0].Skip(1), p => Assert.Equal(BackwardPaths.Fused, p));
        Assert.All(seen[1], p => Assert.Equal(HiddenGradient.Dense, p.Hidden));
        var expectedParameters = new float[config.Layout.Total];
        var actualParameters = new float[config.Layout.Total];
        expected.GetParameters(expectedParameters);
        actual.GetParameters(actualParameters);
        Bits.Equal(expectedParameters, actualParameters, "parameters after 4 steps");
    }

    /// <summary>A step of a pack whose instances share activation rooms keeps no x, h or z; separate operations do.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Activations_of_a_packed_step_are_refused_until_generated_again(bool perThread)
    {
        var config = ParityCases.Make(30, 7, 20, false, true, 0.2, Importance.Uniform, 3);
        using var backend = new SimdBackend(config, threads: 2) { InstanceBlock = 2, InstancesPerThread = perThread };
        backend.SetParameters(Initialization.Create(config));
        var scalars = new OptimizerScalars(config);
        backend.Step(scalars.Set(0));
        var z = new float[backend.ElementCount(TensorKind.Z)];
        var error = Assert.Throws<InvalidOperationException>(() => backend.Read(TensorKind.Z, z));
        Assert.Contains("a Step keeps only the row losses", error.Message); // every backend's refusal (Backend.Read)
        Assert.Throws<InvalidOperationException>(() => backend.Forward());
        Assert.Throws<InvalidOperationException>(() => backend.Backward());
        backend.Read(TensorKind.RowLoss, new float[backend.ElementCount(TensorKind.RowLoss)]);
        backend.GenerateBatch(1);
        backend.Forward();
        backend.Read(TensorKind.Z, z);
    }
}
