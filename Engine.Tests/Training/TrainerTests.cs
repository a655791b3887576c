using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Training;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Training;

public class TrainerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-trainer-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static AutoencoderConfig Small(int instances = 1) => ParityCases.Make(40, 8, 32, false, true, 0.1, Importance.Uniform, instances);

    private static (string Hash, float[] State) Train(AutoencoderConfig config, long steps)
    {
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0 });
        trainer.Run(steps);
        var snapshot = trainer.Snapshot();
        return (WeightsHash.Of(snapshot.Parameters), snapshot.OptimizerState);
    }

    [Fact]
    public void Same_seed_same_bits_and_another_seed_other_bits()
    {
        var config = Small();
        Assert.Equal(Train(config, 20).Hash, Train(config, 20).Hash);
        var other = ParityCases.Make(40, 8, 32, false, true, 0.1, Importance.Uniform, 1, seed: 99);
        Assert.NotEqual(Train(config, 20).Hash, Train(other, 20).Hash);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_file_continues_bit_for_bit()
    {
        var config = Small(instances: 2);
        var straight = Train(config, 200);

        string path = Path.Combine(_folder, "half.safetensors");
        using (var backend = BackendFactory.Create(BackendKind.Reference, config))
        {
            var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0, CheckpointPath = path });
            trainer.Run(100);
        }
        var checkpoint = Checkpoint.Load(path);
        Assert.Equal(100, checkpoint.Step);
        using (var backend = BackendFactory.Create(BackendKind.Reference, checkpoint.Config))
        {
            var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0 });
            trainer.Restore(checkpoint);
            trainer.Run(200);
            var resumed = trainer.Snapshot();
            Assert.Equal(straight.Hash, WeightsHash.Of(resumed.Parameters));
            Bits.Equal(straight.State, resumed.OptimizerState, "optimizer state");
        }
    }

    [Fact]
    public void Progress_reports_steps_losses_and_speed()
    {
        using var backend = BackendFactory.Create(BackendKind.Reference, Small());
        var reports = new List<TrainingProgress>();
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 64, LogEvery = 5, EvalEvery = 10 });
        var result = trainer.Run(20, new Collect(reports));
        Assert.Equal([5L, 10, 15, 20], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.True(r.Loss[0] > 0 && r.StepsPerSecond > 0));
        Assert.Equal([false, true, false, true], reports.Select(r => r.EvalLoss is not null));
        Assert.Equal(reports[^1].Loss[0], result.FinalLoss[0]);
        Assert.Equal(reports[^1].EvalLoss![0], result.EvalLoss![0]);
        Assert.Equal(20, result.Steps);
    }

    [Fact]
    public void Evaluation_is_deterministic_and_independent_of_the_batch_size()
    {
        // Evaluation rows are numbered across calls, so the evaluation loss does not depend on B.
        var a = ParityCases.Make(40, 8, 32, false, true, 0.1, Importance.Uniform, 1);
        var b = ParityCases.Make(40, 8, 7, false, true, 0.1, Importance.Uniform, 1);
        using var backendA = BackendFactory.Create(BackendKind.Reference, a);
        using var backendB = BackendFactory.Create(BackendKind.Reference, b);
        float lossA = new Trainer(backendA).Evaluate(100)[0];
        float lossB = new Trainer(backendB).Evaluate(100)[0];
        Bits.Equal(lossA, lossB, "evaluation loss, B 32 against B 7");
    }

    [Fact]
    public void Divergence_stops_with_the_step_and_keeps_the_last_finite_checkpoint()
    {
        var config = new AutoencoderConfig(20, 5, false, true, 16, [new InstanceSettings(3, 0.2, 1e20, Importance.Uniform)],
            new OptimizerSettings { Kind = OptimizerKind.Sgd });
        string path = Path.Combine(_folder, "diverging.safetensors");
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0, CheckpointPath = path, CheckpointEvery = 1, LogEvery = 1 });
        var error = Assert.Throws<DivergenceException>(() => trainer.Run(1000));
        Assert.Equal(0, error.Instance);
        Assert.Equal("InstanceSettings.LearningRate", error.Setting);
        Assert.EndsWith("; a smaller InstanceSettings.LearningRate may help", error.Message);
        var kept = Checkpoint.Load(path);
        Assert.Equal(error.Step, kept.Step); // the state before the diverging step
        Assert.All(kept.Parameters, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Warmup_steps_train_as_usual_report_at_their_end_and_leave_the_speed_to_the_rest()
    {
        var config = Small();
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        var reports = new List<TrainingProgress>();
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0, LogEvery = 5, WarmupSteps = 7 });
        var result = trainer.Run(20, new Collect(reports));
        Assert.Equal([5L, 7, 10, 15, 20], reports.Select(r => r.Step));
        Assert.True(result.StepsPerSecond > 0);
        Assert.Equal(Train(config, 20).Hash, WeightsHash.Of(trainer.Snapshot().Parameters));

        using var shortBackend = BackendFactory.Create(BackendKind.Reference, config);
        var withinWarmup = new Trainer(shortBackend, new TrainerOptions { EvalSamples = 0, WarmupSteps = 30 }).Run(20);
        Assert.Equal(20, withinWarmup.Steps);
        Assert.Equal(0, withinWarmup.StepsPerSecond);

        var error = Assert.Throws<ConfigException>(() => new Trainer(shortBackend, new TrainerOptions { WarmupSteps = -1 }));
        Assert.Equal("TrainerOptions.WarmupSteps", error.Field);
        Assert.Equal("TrainerOptions.WarmupSteps = -1 is invalid; accepted: an integer >= 0", error.Message);
    }

    [Theory]
    [InlineData(BackendKind.Reference)]
    [InlineData(BackendKind.Simd)]
    public void A_token_cancelled_before_the_run_throws_and_leaves_the_initial_state(BackendKind kind)
    {
        var config = Small();
        using var backend = BackendFactory.Create(kind, config);
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0 });
        string initial = WeightsHash.Of(trainer.Snapshot().Parameters);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var reports = new List<TrainingProgress>();
        var e = Assert.Throws<TrainingCanceledException>(() => trainer.Run(10, new Collect(reports), cancel.Token));
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.Equal(cancel.Token, e.CancellationToken);
        Assert.Equal(0, e.Result.Steps);
        Assert.Empty(e.Result.FinalLoss);
        Assert.Empty(reports);
        Assert.Equal(0, trainer.Step);
        Assert.Equal(initial, WeightsHash.Of(trainer.Snapshot().Parameters));
        // Nothing left to train still cancels: a cancelled token always throws, never returns as if done.
        Assert.Throws<TrainingCanceledException>(() => trainer.Run(0, cancellation: cancel.Token));
    }

    [Theory]
    [InlineData(BackendKind.Reference)]
    [InlineData(BackendKind.Simd)]
    public void Cancelled_from_a_progress_report_the_run_holds_the_bits_of_exactly_that_many_steps(BackendKind kind)
    {
        var config = Small(instances: 2);
        using var backend = BackendFactory.Create(kind, config);
        using var cancel = new CancellationTokenSource();
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0, LogEvery = 3 });
        var e = Assert.Throws<TrainingCanceledException>(() =>
            trainer.Run(1000, new Collect([], p => { if (p.Step == 6) cancel.Cancel(); }), cancel.Token));
        Assert.Equal(cancel.Token, e.CancellationToken);
        Assert.Equal(6, e.Result.Steps);
        Assert.Equal(6, trainer.Step);
        Assert.Equal([-1L, -1L], e.Result.FirstNonFiniteStep);

        // The state, and the loss the exception reports, are those of a run of exactly 6 steps.
        using var straightBackend = BackendFactory.Create(kind, config);
        var straight = new Trainer(straightBackend, new TrainerOptions { EvalSamples = 0 });
        var six = straight.Run(6);
        var (cancelled, whole) = (trainer.Snapshot(), straight.Snapshot());
        Bits.Equal(whole.Parameters, cancelled.Parameters, "parameters after cancellation");
        Bits.Equal(whole.OptimizerState, cancelled.OptimizerState, "optimizer state after cancellation");
        Bits.Equal(six.FinalLoss, e.Result.FinalLoss, "loss of the last completed step");

        // The trainer is left usable: the run continues to the same bits as one that was never cancelled.
        trainer.Run(20);
        straight.Run(20);
        Assert.Equal(straight.WeightsSha256(), trainer.WeightsSha256());
    }

    private sealed class Collect(List<TrainingProgress> into, Action<TrainingProgress>? also = null) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) { into.Add(value); also?.Invoke(value); }
    }
}
