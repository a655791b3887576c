using ToyModels.Model;

namespace ToyModels.Measure.Hardware;

/// <summary>
/// One standard case: a training run of fixed shape and settings (untied unless stated, bias, Adam with
/// Train's defaults: lr 3e-3 / sqrt(n), eps 1e-7, uniform importance, uniform init, seed 0), run for
/// <see cref="WarmupSteps"/> untimed then <see cref="TimedSteps"/> timed steps. The weights after all
/// <see cref="Steps"/> steps are hashed and held against the recorded hash of the same definition.
/// A device too slow for <see cref="TimedSteps"/> within the budget runs <see cref="ShortTimedSteps"/>
/// instead (the same steps, stopped earlier), whose hash is recorded too.
/// </summary>
internal sealed record BenchmarkCase(string Name, int N, int M, int Batch, double P, bool Tied, int WarmupSteps, int TimedSteps, int ShortTimedSteps, string? Note = null)
{
    public int Steps => WarmupSteps + TimedSteps;

    /// <summary>The same case with the short timed run.</summary>
    public BenchmarkCase Short() => this with { TimedSteps = ShortTimedSteps };

    public double LearningRate => 3e-3 / Math.Sqrt(N);

    /// <summary>The run; throws <see cref="ConfigException"/> where the engine refuses it (too large for buffers or memory).</summary>
    public AutoencoderConfig Config() =>
        AutoencoderConfig.Create(N, M, P, LearningRate, Tied, bias: true, batch: Batch, instances: 1, seed: 0,
            importance: Importance.Uniform, optimizer: new OptimizerSettings { Eps = 1e-7 });

    public string Shape => $"n {N} m {M} B {Batch} p {P}{(Tied ? " tied" : "")}";
}

/// <summary>The standard cases. Changing a shape or a step count changes its hash: record again (hardware --record).</summary>
internal static class StandardCases
{
    public static readonly BenchmarkCase Quick = new("Q", 512, 128, 256, 0.045, false, WarmupSteps: 2, TimedSteps: 30, ShortTimedSteps: 5);
    public static readonly BenchmarkCase S = new("S", 512, 128, 1024, 0.045, false, WarmupSteps: 3, TimedSteps: 100, ShortTimedSteps: 20);
    public static readonly BenchmarkCase M = new("M", 4096, 512, 1024, 0.01, false, WarmupSteps: 2, TimedSteps: 30, ShortTimedSteps: 3);
    public static readonly BenchmarkCase L = new("L", 16384, 2048, 256, 0.001, false, WarmupSteps: 2, TimedSteps: 15, ShortTimedSteps: 2);

    /// <summary>XL, tied: W is 2^29 floats, 2 GiB; with its Adam state about 6 GiB.</summary>
    public static readonly BenchmarkCase XL = new("XL", 65536, 8192, 256, 0.001, true, WarmupSteps: 2, TimedSteps: 3, ShortTimedSteps: 1);

    /// <summary>
    /// XL untied: W_in and W_out are 2^30 floats, 4 GiB, and Adam's state 2^31 floats, more than one span holds, so the
    /// run exercises the 64-bit offsets; about 13 GiB in all. A machine without that much memory available skips it
    /// with the figures.
    /// </summary>
    public static readonly BenchmarkCase XLUntied = new("XL-untied", 65536, 8192, 256, 0.001, false, WarmupSteps: 2, TimedSteps: 3, ShortTimedSteps: 1,
        Note: "untied: 2^30 parameters and 2^31 floats of Adam state, about 13 GiB");

    /// <summary>Every definition whose hash is recorded: each case with its full and its short timed run.</summary>
    public static IEnumerable<BenchmarkCase> Variants(BenchmarkCase c) => c.ShortTimedSteps == c.TimedSteps ? [c] : [c, c.Short()];

    public static IReadOnlyList<BenchmarkCase> All { get; } = [Quick, S, M, L, XL, XLUntied];

    public static BenchmarkCase Get(string name) => All.First(c => c.Name == name);
}
