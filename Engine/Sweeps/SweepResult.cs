using System.Globalization;
using ToyModels.Model;

namespace ToyModels.Sweeps;

/// <summary>
/// One row of results.csv: the run's config, what it reached, its superposition metrics and its weights hash.
/// Missing values (no evaluation, a diverged run's metrics, a formula that does not apply) are empty fields.
/// </summary>
public sealed record SweepResult
{
    /// <summary>The run's <see cref="SweepRun.Id"/>: 16 hex digits.</summary>
    public required string RunId { get; init; }
    /// <summary>n: features.</summary>
    public int N { get; init; }
    /// <summary>m: hidden dimensions.</summary>
    public int M { get; init; }
    /// <summary>The probability that a feature is active, in [0, 1].</summary>
    public double P { get; init; }
    /// <summary>The importance as <see cref="Model.Importance.ToString"/> writes it.</summary>
    public string Importance { get; init; } = "uniform";
    /// <summary>Whether W_out = W_in^T.</summary>
    public bool Tied { get; init; }
    /// <summary>Whether the model has an output bias.</summary>
    public bool Bias { get; init; }
    /// <summary>Samples per step.</summary>
    public int Batch { get; init; }
    /// <summary>The run's learning rate (results.csv's lr column).</summary>
    public double LearningRate { get; init; }
    /// <summary>Optimizer steps trained.</summary>
    public long Steps { get; init; }
    /// <summary>The run's seed (data stream and initialisation).</summary>
    public ulong Seed { get; init; }
    /// <summary>adam, adamw or sgd (<see cref="OptimizerSettings.Name"/>).</summary>
    public string Optimizer { get; init; } = "adam";
    /// <summary>uniform or xavier.</summary>
    public string Init { get; init; } = "uniform";
    /// <summary>Evaluation samples (0: no evaluation, and <see cref="EvalLoss"/> is NaN).</summary>
    public int EvalSamples { get; init; }
    /// <summary>Batch loss of the last step; NaN when diverged.</summary>
    public double TrainLoss { get; init; } = double.NaN;
    /// <summary>Evaluation loss at the end; NaN without evaluation or when diverged.</summary>
    public double EvalLoss { get; init; } = double.NaN;
    /// <summary>The loss of the all-zero output, p/3 x mean importance (<see cref="Analysis.Baselines.Zero"/>).</summary>
    public double ZeroLoss { get; init; } = double.NaN;
    /// <summary>The best linear model's loss (<see cref="Analysis.Baselines.Linear"/>); NaN where the formula does not apply.</summary>
    public double LinearLoss { get; init; } = double.NaN;
    /// <summary>The Persian rug theory's optimal loss (<see cref="Analysis.PersianRugTheory"/>); NaN where it does not apply.</summary>
    public double TheoryLoss { get; init; } = double.NaN;
    /// <summary>D* = m / ||W||_F^2 (<see cref="Analysis.SuperpositionMetrics.DStar"/>); NaN when diverged.</summary>
    public double DStar { get; init; } = double.NaN;
    /// <summary>Features with norm above the threshold; null when missing (a diverged run).</summary>
    public int? FeaturesRepresented { get; init; }
    /// <summary>Mean feature dimensionality D_i, in [0, 1]; NaN when diverged.</summary>
    public double MeanDimensionality { get; init; } = double.NaN;
    /// <summary>Mean interference of the represented features; NaN when none is or diverged.</summary>
    public double MeanInterference { get; init; } = double.NaN;
    /// <summary>Mean output bias (0 without bias); NaN when diverged.</summary>
    public double MeanBias { get; init; } = double.NaN;
    /// <summary>The step at which the run diverged, or -1.</summary>
    public long DivergedStep { get; init; } = -1;
    /// <summary>Instances trained together with this run (itself included).</summary>
    public int PackSize { get; init; } = 1;
    /// <summary>Optimizer steps per second of the pack (every instance advanced by one per step).</summary>
    public double StepsPerSecond { get; init; } = double.NaN;
    /// <summary>The SHA-256 of the final weights (<see cref="IO.WeightsHash"/>), 64 hex digits; the same on every backend.</summary>
    public required string WeightsSha256 { get; init; }

    /// <summary>m / n.</summary>
    public double Ratio => (double)M / N;

    internal static readonly string[] Columns =
    [
        "run_id", "n", "m", "ratio", "p", "importance", "tied", "bias", "batch", "lr", "steps", "seed", "optimizer", "init", "eval_samples",
        "train_loss", "eval_loss", "zero_loss", "linear_loss", "theory_loss", "dstar", "features_represented", "mean_dimensionality",
        "mean_interference", "mean_bias", "diverged_step", "pack_size", "steps_per_s", "weights_sha256",
    ];

    /// <summary>The header line of results.csv: the column names, comma-separated.</summary>
    public static string Header => string.Join(",", Columns);

    /// <summary>This row as a line of results.csv (no line break); a missing value is an empty field.</summary>
    public string ToCsv()
    {
        var c = CultureInfo.InvariantCulture;
        string D(double v) => double.IsFinite(v) ? v.ToString("R", c) : "";
        return string.Join(",", RunId, N.ToString(c), M.ToString(c), D(Ratio), D(P), Importance, Tied ? "true" : "false", Bias ? "true" : "false",
            Batch.ToString(c), D(LearningRate), Steps.ToString(c), Seed.ToString(c), Optimizer, Init, EvalSamples.ToString(c), D(TrainLoss), D(EvalLoss),
            D(ZeroLoss), D(LinearLoss), D(TheoryLoss), D(DStar), FeaturesRepresented?.ToString(c) ?? "", D(MeanDimensionality), D(MeanInterference),
            D(MeanBias), DivergedStep.ToString(c), PackSize.ToString(c), D(Math.Round(StepsPerSecond, 3)), WeightsSha256);
    }

    /// <summary>Parses a line that <see cref="ToCsv"/> wrote; a malformed line throws <see cref="FormatException"/> saying which field.</summary>
    public static SweepResult Parse(string line)
    {
        var f = line.Split(',');
        if (f.Length != Columns.Length) throw new FormatException($"{f.Length} fields, {Columns.Length} expected");
        var c = CultureInfo.InvariantCulture;
        int k = 0;
        string Next() => f[k++];
        T Field<T>(Func<string, (bool, T)> parse)
        {
            string text = Next();
            var (ok, value) = parse(text);
            return ok ? value : throw new FormatException($"{Columns[k - 1]} = '{text}' is not valid");
        }
        double D() => Field(t => t.Length == 0 ? (true, double.NaN) : (double.TryParse(t, NumberStyles.Float, c, out double v), v));
        int I() => Field(t => (int.TryParse(t, NumberStyles.AllowLeadingSign, c, out int v), v));
        int? OptionalI() => Field(t => t.Length == 0 ? (true, (int?)null) : (int.TryParse(t, NumberStyles.AllowLeadingSign, c, out int v), v));
        long L() => Field(t => (long.TryParse(t, NumberStyles.AllowLeadingSign, c, out long v), v));
        bool B() => Field(t => (t is "true" or "false", t == "true"));
        string S() => Field(t => (t.Length > 0, t));

        string id = Field(t => (t.Length == 16 && t.All(char.IsAsciiHexDigitLower), t));
        int n = I(), m = I();
        D(); // ratio, derived
        var row = new SweepResult
        {
            RunId = id, N = n, M = m, P = D(), Importance = S(), Tied = B(), Bias = B(), Batch = I(), LearningRate = D(), Steps = L(),
            Seed = Field(t => (ulong.TryParse(t, NumberStyles.None, c, out ulong v), v)), Optimizer = S(), Init = S(), EvalSamples = I(),
            TrainLoss = D(), EvalLoss = D(), ZeroLoss = D(), LinearLoss = D(), TheoryLoss = D(), DStar = D(), FeaturesRepresented = OptionalI(),
            MeanDimensionality = D(), MeanInterference = D(), MeanBias = D(), DivergedStep = L(), PackSize = I(), StepsPerSecond = D(),
            WeightsSha256 = Field(t => (t.Length == 64 && t.All(char.IsAsciiHexDigitLower), t)),
        };
        return row;
    }

    /// <summary>The row's config fields for a run (losses and metrics are filled in by the runner).</summary>
    public static SweepResult For(SweepRun run, string weightsSha256) => new()
    {
        RunId = run.Id, N = run.N, M = run.M, P = run.Instance.P, Importance = run.Instance.Importance.ToString(), Tied = run.Config.Tied,
        Bias = run.Config.Bias, Batch = run.Config.Batch, LearningRate = run.Instance.LearningRate, Steps = run.Steps, Seed = run.Instance.Seed,
        Optimizer = OptimizerSettings.Name(run.Config.Optimizer.Kind), Init = IO.ConfigJson.InitName(run.Config.Init), EvalSamples = run.EvalSamples,
        WeightsSha256 = weightsSha256,
    };
}
