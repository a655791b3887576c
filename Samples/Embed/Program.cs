using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Training;

// Samples/Embed: training inside a program of your own, with the ToyModels.Engine package alone.
// It trains a small model, saves and reloads the checkpoint, measures superposition, and checks its
// own results: exit code 0 when every check holds, 1 otherwise.

// 1. The run: 64 features squeezed into 16 dimensions, each active with probability 0.05. Everything
//    not given (learning rate 3e-3/sqrt(n), Adam, batch, evaluation samples) comes from Defaults.
var config = AutoencoderConfig.Create(n: 64, m: 16, p: 0.05, batch: 256, seed: 1);

// 2. The backend from the factory: Auto takes the fastest present (the SIMD CPU backend unless the
//    ToyModels.Engine.Gpu package is referenced and finds a GPU) and says what it chose.
using var backend = BackendFactory.Create(BackendKind.Auto, config, notice: Console.WriteLine);

// 3. The trainer, reporting progress on this thread. Cancelled (Ctrl+C), it stops between two steps with a
//    TrainingCanceledException (an OperationCanceledException) and holds exactly the steps it completed.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var trainer = new Trainer(backend, new TrainerOptions { LogEvery = 500 });
var progress = new SyncProgress<TrainingProgress>(p => Console.WriteLine($"step {p.Step}/{p.TotalSteps}  loss {p.MeanLoss:G4}"));
TrainingResult result;
try { result = trainer.Run(totalSteps: 2000, progress, cancel.Token); }
catch (TrainingCanceledException e) { Console.WriteLine($"cancelled at step {e.Result.Steps}"); return 1; }

// 4. A checkpoint (safetensors with the config, step and optimizer state), saved and loaded again.
string path = Path.Combine(Path.GetTempPath(), $"toymodels-embed-{Environment.ProcessId}.safetensors");
var trained = trainer.Snapshot();
trained.Save(path);
var loaded = Checkpoint.Load(path);
File.Delete(path);

// 5. What the model learned: the superposition metrics of its weights (Elhage et al. 2022).
var metrics = SuperpositionMetrics.Of(loaded.Config, loaded.Parameters, instance: 0);
double zero = Baselines.Zero(config.N, 0.05, Importance.Uniform);
Console.WriteLine($"eval loss {result.EvalLoss![0]:G4} (all-zero output {zero:G4}); {metrics}");

// The checks: the checkpoint holds exactly the trained weights, and a fresh backend restored from it
// evaluates to the same bits as the trained one.
using var restored = BackendFactory.Create(BackendKind.Auto, loaded.Config);
var resumed = new Trainer(restored);
resumed.Restore(loaded);
var checks = new (string What, bool Holds)[]
{
    ("the loaded weights hash to the trained weights' hash",
        WeightsHash.Of(loaded.Parameters) == WeightsHash.Of(trained.Parameters)),
    ("the loaded checkpoint is at the trained step", loaded.Step == result.Steps),
    ("a backend restored from it evaluates to the same loss, bit for bit",
        resumed.Evaluate()[0] == trainer.Evaluate()[0]),
    ("the trained model beats the all-zero output", result.EvalLoss[0] < zero),
    ("more features are represented than there are dimensions (superposition)", metrics.FeaturesRepresented > config.M),
};
foreach (var (what, holds) in checks) Console.WriteLine($"{(holds ? "ok  " : "FAIL")}  {what}");
return checks.All(c => c.Holds) ? 0 : 1;
