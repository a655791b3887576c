using ToyModels.Sweeps;

namespace ToyModels.Tests.Sweeps;

/// <summary>The plan's estimate with the calibration injected: which packs are calibrated, and the arithmetic.</summary>
public class SweepEstimateTests
{
    /// <summary>Two widths of n 512 (20 sparsities each) and one tiny shape with 10 sparsities.</summary>
    private static readonly SweepGrid Grid = SweepGrid.Parse("""
        {"n": 512, "m": [26, 512], "p": {"from": 0.001, "to": 0.5, "count": 20, "scale": "log"},
         "steps": 10000, "batch": 1024, "eval_samples": 8192}
        """, "big.json");

    private static readonly SweepGrid Tiny = SweepGrid.Parse("""
        {"n": 20, "m": 5, "p": {"from": 0.01, "to": 0.2, "count": 10}, "steps": 3000, "batch": 1024, "eval_samples": 0}
        """, "tiny.json");

    private static IReadOnlyList<Pack> Packs(IEnumerable<SweepRun> runs, int pack = 64) => SweepPlan.Packs(runs, pack, 1L << 40);

    [Fact]
    public void A_big_shape_calibrates_on_two_runs_from_the_middles_of_its_sparsities()
    {
        var packs = Packs(Grid.Runs).Where(p => p.Runs[0].M == 512).ToList();
        var pack = SweepEstimate.CalibrationPack(packs);
        Assert.Equal(SweepEstimate.CalibrationInstances, pack.Runs.Count);
        var sorted = packs[0].Runs.OrderBy(r => r.Instance.P).ToList();
        // 20 runs in two slices of 10: their middles are the 6th and the 16th sparsest.
        Assert.Equal([sorted[5], sorted[15]], pack.Runs);
    }

    [Fact]
    public void A_tiny_shape_calibrates_on_its_largest_pack_whole()
    {
        var packs = Packs(Tiny.Runs, pack: 4); // 4, 4, 2
        Assert.Equal([4, 4, 2], packs.Select(p => p.Runs.Count));
        var pack = SweepEstimate.CalibrationPack(packs);
        Assert.Same(packs[0], pack);
    }

    [Fact]
    public void Every_distinct_shape_is_measured_once()
    {
        var measured = new List<Pack>();
        var packs = Packs(Grid.Runs.Concat(Tiny.Runs), pack: 8);
        var calibrations = SweepEstimate.Calibrate(packs, p =>
        {
            measured.Add(p);
            return new Calibration(p.Runs.Count, 0.01, 0.001);
        });
        Assert.Equal(3, calibrations.Count);
        Assert.Equal(3, measured.Count);
        Assert.Equal(3, measured.Select(p => p.Runs[0].ShapeKey).Distinct().Count());
        Assert.Throws<InvalidOperationException>(() => SweepEstimate.Calibrate(packs, p => new Calibration(p.Runs.Count + 1, 0.01, 0)));
    }

    [Fact]
    public void A_pack_takes_its_steps_and_evaluation_scaled_by_its_runs()
    {
        var packs = Packs(Grid.Runs);
        var calibrations = new Dictionary<string, Calibration>
        {
            [packs[0].Runs[0].ShapeKey] = new(2, 0.010, 0.004), // m 26
            [packs[1].Runs[0].ShapeKey] = new(2, 0.040, 0.020), // m 512
        };
        var estimates = SweepEstimate.Estimate(packs, calibrations);
        // 8192 evaluation samples in batches of 1024: 8 calls. 20 runs from a calibration of 2: x 10.
        Assert.Equal(8, estimates[0].EvaluationCalls);
        Assert.Equal((10000 * 0.010 + 8 * 0.004) * 10, estimates[0].Seconds, 9);
        Assert.Equal((10000 * 0.040 + 8 * 0.020) * 10, estimates[1].Seconds, 9);
        Assert.Equal(estimates[0].Seconds + estimates[1].Seconds, SweepEstimate.Seconds(estimates), 9);
    }

    [Fact]
    public void Shards_add_up_to_the_grid()
    {
        var calibration = new Calibration(4, 0.002, 0);
        var key = Tiny.Runs[0].ShapeKey;
        var calibrations = new Dictionary<string, Calibration> { [key] = calibration };
        double whole = SweepEstimate.Seconds(SweepEstimate.Estimate(Packs(Tiny.Runs), calibrations));
        Assert.Equal(3000 * 0.002 * 10 / 4, whole, 9);
        double sharded = Enumerable.Range(0, 3)
            .Sum(s => SweepEstimate.Seconds(SweepEstimate.Estimate(Packs(SweepPlan.Shard(Tiny.Runs, s, 3)), calibrations)));
        Assert.Equal(whole, sharded, 9);
        Assert.Throws<ArgumentException>(() => SweepEstimate.Estimate(Packs(Grid.Runs), calibrations));
    }
}
