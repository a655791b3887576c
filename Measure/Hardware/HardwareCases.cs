using ToyModels.Model;

namespace ToyModels.Measure.Hardware;

/// <summary>
/// One case of the hardware table: a standard case (<see cref="StandardCases"/>: the shape, with the library's
/// <see cref="Defaults"/> for the rest, seed 0), run for <see cref="WarmupSteps"/> untimed then <see cref="TimedSteps"/>
/// timed steps. The weights after all <see cref="Steps"/> steps are hashed and held against the recorded hash of
/// the same definition. A device too slow for <see cref="TimedSteps"/> within the budget runs
/// <see cref="ShortTimedSteps"/> instead (the same steps, stopped earlier), whose hash is recorded too.
/// </summary>
internal sealed record BenchmarkCase(StandardCase Case, int WarmupSteps, int TimedSteps, int ShortTimedSteps)
{
    public string Name => Case.Name;
    public int N => Case.N;
    public int M => Case.M;
    public int Batch => Case.Batch;
    public double P => Case.P;
    public bool Tied => Case.Tied;
    public string? Note => Case.Note;
    public string Shape => Case.Shape;
    public double LearningRate => Defaults.LearningRate(N);

    public int Steps => WarmupSteps + TimedSteps;

    /// <summary>The same case with the short timed run.</summary>
    public BenchmarkCase Short() => this with { TimedSteps = ShortTimedSteps };

    /// <summary>The run; throws <see cref="ConfigException"/> where the engine refuses it (too large for buffers or memory).</summary>
    public AutoencoderConfig Config() => Case.Config();
}

/// <summary>The hardware table's step counts per standard case. Changing a step count changes its hash: record again (hardware --record).</summary>
internal static class HardwareCases
{
    public static IReadOnlyList<BenchmarkCase> All { get; } =
    [
        new(StandardCases.Q, WarmupSteps: 2, TimedSteps: 30, ShortTimedSteps: 5),
        new(StandardCases.S, WarmupSteps: 3, TimedSteps: 100, ShortTimedSteps: 20),
        new(StandardCases.M, WarmupSteps: 2, TimedSteps: 30, ShortTimedSteps: 3),
        new(StandardCases.L, WarmupSteps: 2, TimedSteps: 15, ShortTimedSteps: 2),
        new(StandardCases.XL, WarmupSteps: 2, TimedSteps: 3, ShortTimedSteps: 1),
        new(StandardCases.XLUntied, WarmupSteps: 2, TimedSteps: 3, ShortTimedSteps: 1),
    ];

    /// <summary>Every definition whose hash is recorded: each case with its full and its short timed run.</summary>
    public static IEnumerable<BenchmarkCase> Variants(BenchmarkCase c) => c.ShortTimedSteps == c.TimedSteps ? [c] : [c, c.Short()];

    public static BenchmarkCase Get(string name) => All.First(c => c.Name == name);
}
