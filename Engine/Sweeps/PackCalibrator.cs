using System.Diagnostics;
using ToyModels.Backends;

namespace ToyModels.Sweeps;

/// <summary>
/// Times a calibration pack (<see cref="SweepEstimate"/>) on the backend a sweep would train it on: one warm-up step
/// (first touches of memory), then steps until <see cref="MinimumTime"/> has passed (at least
/// <see cref="MinimumSteps"/>, at most <see cref="MaximumSteps"/>), and one evaluation call. The first pack is
/// measured twice and the first measurement dropped: it pays for compiling the backend's code (and auto's search
/// for devices, which later packs skip). The shapes of the
/// n 512 Persian-rug grid (20 packs of 20 runs) calibrate in about 2 seconds on 2 cores.
/// </summary>
public sealed class PackCalibrator(BackendKind kind, BackendOptions? options = null)
{
    private BackendKind _kind = kind;
    /// <summary>The least time a calibration times steps for: 30 ms.</summary>
    public static readonly TimeSpan MinimumTime = TimeSpan.FromMilliseconds(30);
    /// <summary>The fewest steps timed, however long they take.</summary>
    public const int MinimumSteps = 2;
    /// <summary>The most steps timed, however quick they are.</summary>
    public const int MaximumSteps = 50;

    private bool _warm;

    /// <summary>What the last calibration trained on (the backend's description).</summary>
    public string? BackendDescription { get; private set; }

    /// <summary>Trains <paramref name="pack"/> for a few steps from its initial state and times a step and an evaluation call.</summary>
    /// <exception cref="BackendUnavailableException">The backend cannot run here.</exception>
    /// <exception cref="Memory.MemoryRefusedException">The pack does not fit in the memory available.</exception>
    public Calibration Measure(Pack pack)
    {
        if (!_warm)
        {
            _warm = true;
            Measure(pack);
        }
        var config = pack.Config;
        using var backend = BackendFactory.Create(_kind, config, options);
        BackendDescription = backend.Description;
        _kind = BackendFactory.Parse(backend.Name); // auto looks for devices once, not per shape
        var scalars = new OptimizerScalars(config);
        var rowLoss = new float[config.InstanceCount * config.Batch];
        backend.Step(scalars.Set(0));
        backend.Read(TensorKind.RowLoss, rowLoss);
        // A device backend may return before its steps are done: the read at the end waits for them.
        long steps = 0;
        var clock = Stopwatch.StartNew();
        while (steps < MinimumSteps || (clock.Elapsed < MinimumTime && steps < MaximumSteps))
            backend.Step(scalars.Set(1 + steps++));
        backend.Read(TensorKind.RowLoss, rowLoss);
        double stepSeconds = clock.Elapsed.TotalSeconds / steps;

        double evaluationSeconds = 0;
        int evalSamples = pack.Runs[0].EvalSamples;
        if (evalSamples > 0)
        {
            int count = Math.Min(evalSamples, config.Batch);
            var rows = new float[config.InstanceCount * count];
            clock.Restart();
            backend.Evaluate(0, count, rows);
            evaluationSeconds = clock.Elapsed.TotalSeconds;
        }
        return new Calibration(config.InstanceCount, stepSeconds, evaluationSeconds);
    }
}
