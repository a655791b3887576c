using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Sweeps;
using ToyModels.Training;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Sweeps;

public class SweepRunnerTests
{
    private static SweepGrid Grid() => SweepGrid.Parse(
        """{"n": 12, "m": [3, 5], "tied": [false, true], "p": [0.05, 0.2], "seed": [1, 2], "batch": 16, "steps": 25, "eval_samples": 40}""", "test grid");

    [Fact]
    public void Shards_partition_the_grid_and_packs_group_one_shape()
    {
        var runs = Grid().Runs;
        var shards = Enumerable.Range(0, 3).Select(i => SweepPlan.Shard(runs, i, 3)).ToList();
        Assert.Equal(runs.Select(r => r.Id).Order(), shards.SelectMany(s => s).Select(r => r.Id).Order());
        var packs = SweepPlan.Packs(runs, maxInstances: 3, maxBytes: long.MaxValue);
        Assert.Equal(runs.Count, packs.Sum(p => p.Runs.Count));
        Assert.All(packs, p => Assert.Single(p.Runs.Select(r => r.ShapeKey).Distinct()));
        Assert.All(packs, p => Assert.InRange(p.Runs.Count, 1, 3));
        Assert.Equal(4, SweepPlan.Packs(runs, 64, long.MaxValue).Count); // m x tied
        long oneInstance = runs[0].Config.EstimatedBytes;
        Assert.All(SweepPlan.Packs(runs, 64, oneInstance), p => Assert.Single(p.Runs));
    }

    [Fact]
    public void A_packed_run_gets_the_bits_it_gets_alone_and_its_row_describes_it()
    {
        var grid = Grid();
        var pack = SweepPlan.Packs(grid.Runs, 64, long.MaxValue)[0];
        Assert.Equal(4, pack.Runs.Count);
        var outcomes = new SweepRunner(BackendKind.Reference).Train(pack);
        for (int s = 0; s < pack.Runs.Count; s++)
        {
            var run = pack.Runs[s];
            using var backend = BackendFactory.Create(BackendKind.Reference, run.Config);
            var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = run.EvalSamples });
            var alone = trainer.Run(run.Steps);
            var row = outcomes[s].Result;
            Assert.Equal(run.Id, row.RunId);
            Assert.Equal(WeightsHash.Of(trainer.Snapshot().Parameters), row.WeightsSha256);
            Assert.Equal((double)alone.EvalLoss![0], row.EvalLoss);
            Assert.Equal(4, row.PackSize);
            Assert.Equal(run.Instance.P / 3, row.ZeroLoss, 1e-15);
            Assert.Equal(PersianRugTheory.Minimize(run.N, run.M, run.Instance.P).Loss, row.TheoryLoss);
            Assert.Equal(outcomes[s].Metrics.DStar, row.DStar);
            var checkpoint = outcomes[s].Checkpoint;
            Assert.Equal(row.WeightsSha256, WeightsHash.Of(checkpoint.Parameters));
            Bits.Equal(trainer.Snapshot().OptimizerState, checkpoint.OptimizerState, "optimizer state of the run");
            Assert.Contains("superposition_metrics", checkpoint.Metadata.Keys);
        }
    }

    [Fact]
    public void A_cancelled_pack_throws_with_its_token_and_returns_nothing()
    {
        var pack = SweepPlan.Packs(Grid().Runs, 64, long.MaxValue)[0];
        var runner = new SweepRunner(BackendKind.Reference);
        using var before = new CancellationTokenSource();
        before.Cancel();
        var e = Assert.ThrowsAny<OperationCanceledException>(() => runner.Train(pack, cancellation: before.Token));
        Assert.Equal(before.Token, e.CancellationToken);
        Assert.Null(runner.BackendName); // refused before a backend was made

        using var during = new CancellationTokenSource();
        var reports = new List<long>();
        var mid = Assert.ThrowsAny<OperationCanceledException>(() => runner.Train(pack,
            new SyncProgress<PackProgress>(p => { reports.Add(p.Step); if (p.Step >= 5) during.Cancel(); }), during.Token));
        Assert.Equal(during.Token, mid.CancellationToken);
        Assert.True(reports[^1] < pack.Steps);
    }
}
