using System.Diagnostics;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Measure.Hardware;

/// <summary>
/// Runs one case on one device: creates the backend, runs the warm-up steps, times the timed steps in
/// chunks that each end with a read of the row losses (device backends only enqueue their steps; the
/// read waits for the work, so the clock covers finished steps), then counts nonzeros of the last batch
/// and hashes the weights.
/// </summary>
/// <remarks>
/// The budget keeps slow devices (POCL on two cores) from taking minutes per case: when the last
/// warm-up step says the full timed run would exceed it, the device runs the case's short timed run
/// (its hash is recorded too); when even that would exceed it, the case is skipped with the projection.
/// A case is also skipped before it starts when the device's previous case, scaled by the
/// dense-equivalent work, projects the warm-up and short run beyond the budget.
/// </remarks>
internal static class CaseRunner
{
    /// <param name="secondsPerStepEstimate">A projection of this case's step time on this device, or null.</param>
    public static CaseResult Run(BenchmarkDevice device, BenchmarkCase c, ExpectedHashes? expected, Peak? peak, double budgetSeconds,
        ProgressDisplay progress, (double Seconds, string From)? secondsPerStepEstimate = null)
    {
        if (device.Unavailable is not null) return Skipped(c, expected, device.Unavailable);
        if (secondsPerStepEstimate is var (estimate, from) && estimate * (c.WarmupSteps + c.ShortTimedSteps) > budgetSeconds)
            return Skipped(c, expected, $"too slow for the budget: case {from} on this device projects about {estimate:F1} s per step, " +
                $"so even {c.WarmupSteps} warm-up and {c.ShortTimedSteps} timed steps would exceed --budget {budgetSeconds:F0} s");
        AutoencoderConfig config;
        try { config = c.Config(); }
        catch (ConfigException e) { return Skipped(c, expected, e.Message); }

        string label = $"{device.Id} {c.Name}";
        progress.Update($"{label}: creating the backend ({c.Shape})");
        var setup = Stopwatch.StartNew();
        IBackend backend;
        try { backend = device.CreateBackend(config); }
        catch (Exception e) when (e is BackendUnavailableException or ConfigException or OutOfMemoryException or MemoryRefusedException)
        {
            return Skipped(c, expected, e.Message);
        }
        using (backend)
        {
            try { return Timed(backend, c, config, expected, peak, budgetSeconds, progress, label, setup); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return new(c.Name, c.Shape, c.WarmupSteps, c.TimedSteps, CaseStatus.Failed, Failure(e),
                    null, null, null, null, null, null, null, null, null, null, expected?.For(c)?.WeightsSha256);
            }
        }
    }

    private static CaseResult Skipped(BenchmarkCase c, ExpectedHashes? expected, string reason) => new(c.Name, c.Shape, c.WarmupSteps, c.TimedSteps,
        CaseStatus.Skipped, reason, null, null, null, null, null, null, null, null, null, null, expected?.For(c)?.WeightsSha256);

    private static CaseResult Timed(IBackend backend, BenchmarkCase c, AutoencoderConfig config, ExpectedHashes? expected, Peak? peak,
        double budgetSeconds, ProgressDisplay progress, string label, Stopwatch setup)
    {
        var scalars = new OptimizerScalars(config);
        var rowLoss = new float[config.Batch];
        double lastStep = 0;
        long step = 0;
        for (; step < c.WarmupSteps; step++)
        {
            progress.Update($"{label}: warm-up step {step + 1}/{c.WarmupSteps}");
            var one = Stopwatch.StartNew();
            backend.Step(scalars.Set(step));
            backend.Read(TensorKind.RowLoss, rowLoss);
            lastStep = one.Elapsed.TotalSeconds;
            if (lastStep * (c.WarmupSteps - step - 1 + c.ShortTimedSteps) > budgetSeconds) break;
        }
        double setupSeconds = setup.Elapsed.TotalSeconds;
        string? note = null;
        if (step < c.WarmupSteps || lastStep * c.ShortTimedSteps > budgetSeconds)
            return new(c.Name, c.Shape, c.WarmupSteps, c.TimedSteps, CaseStatus.Skipped,
                $"too slow for the budget: warm-up step {step} took {lastStep:F1} s, so even {c.ShortTimedSteps} timed steps would take about " +
                $"{lastStep * c.ShortTimedSteps:F0} s > --budget {budgetSeconds:F0} s",
                setupSeconds, null, null, null, null, null, null, null, null, null, expected?.For(c)?.WeightsSha256);
        if (lastStep * c.TimedSteps > budgetSeconds)
        {
            note = $"short run: the last warm-up step took {lastStep:F2} s, so {c.TimedSteps} timed steps would exceed --budget {budgetSeconds:F0} s";
            c = c.Short();
        }

        int chunk = Math.Max(1, c.TimedSteps / 10);
        var clock = Stopwatch.StartNew();
        while (step < c.Steps)
        {
            long end = Math.Min(c.Steps, step + chunk);
            for (; step < end; step++) backend.Step(scalars.Set(step));
            backend.Read(TensorKind.RowLoss, rowLoss);
            double elapsed = clock.Elapsed.TotalSeconds;
            long done = step - c.WarmupSteps;
            progress.Update($"{label}: {done}/{c.TimedSteps} timed steps, {done / elapsed:F2} steps/s");
        }
        double seconds = clock.Elapsed.TotalSeconds;

        var (nonzeroX, nonzeroGz) = Nonzeros(backend, config, c.Steps - 1);
        string hash = WeightsHash.Of(backend);
        var want = expected?.For(c);
        string status = want is null ? CaseStatus.Unrecorded : want.WeightsSha256 == hash ? CaseStatus.Ok : CaseStatus.Mismatch;
        string? reason = want is null ? $"no expected hash recorded for {c.Name} ({c.Shape}, {c.Steps} steps)"
            : status == CaseStatus.Mismatch ? $"weights_sha256 {hash} differs from the recorded {want.WeightsSha256} after {c.Steps} steps" : null;
        if (note is not null) reason = reason is null ? note : $"{reason}; {note}";

        double stepsPerSecond = c.TimedSteps / seconds;
        double executed = FlopCount.Executed(c, nonzeroX, nonzeroGz) * stepsPerSecond / 1e9;
        double dense = FlopCount.DenseEquivalent(c) * stepsPerSecond / 1e9;
        return new CaseResult(c.Name, c.Shape, c.WarmupSteps, c.TimedSteps, status, reason, setupSeconds, seconds,
            stepsPerSecond, stepsPerSecond * c.Batch, executed, dense, peak is null ? null : 100 * executed / peak.FmaGflops,
            nonzeroX / c.Batch, nonzeroGz / c.Batch, hash, want?.WeightsSha256);
    }

    /// <summary>The exception and where it was thrown: a failure on real hardware is a finding to report.</summary>
    private static string Failure(Exception e)
    {
        string? frame = e.StackTrace?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return $"{e.GetType().Name}: {e.Message}{(frame is null ? "" : $" ({frame})")}";
    }

    /// <summary>
    /// Nonzero x and outputs with z &gt; 0 in the batch of <paramref name="lastStep"/> (see <see cref="FlopCount"/>). A Step
    /// keeps only the row losses, so the batch is generated and run forward again (the parameters are not touched).
    /// </summary>
    private static (double X, double Gz) Nonzeros(IBackend backend, AutoencoderConfig config, long lastStep)
    {
        backend.GenerateBatch(lastStep);
        backend.Forward();
        var values = new float[(long)config.Batch * config.N];
        backend.Read(TensorKind.X, values);
        long x = 0;
        foreach (float v in values) if (v != 0) x++;
        backend.Read(TensorKind.Z, values);
        long z = 0;
        foreach (float v in values) if (v > 0) z++;
        return (x, z);
    }
}
