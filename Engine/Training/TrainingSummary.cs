using System.Text;
using System.Text.Json;
using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;

namespace ToyModels.Training;

/// <summary>
/// summary.json, one JSON object describing a finished (or cancelled) run: its settings (instance 0's p, lr, seed and importance),
/// where it ran, its losses next to the zero-output and best-linear baselines, its speed, weights hash and memory.
/// </summary>
/// <remarks>
/// The fields, in order: n, m, p, tied, bias, batch, steps, instances, importance, optimizer, lr, backend, device, threads, seed,
/// final_loss, eval_loss (means over instances; null when unknown or not finite: JSON has no NaN), zero_loss, linear_loss (null when the formula
/// does not apply), steps_per_s, warmup_steps, elapsed_s, weights_sha256, memory_estimate_bytes, peak_rss_bytes, completed,
/// instance_final_loss and instance_eval_loss (with several instances only; null for a value not finite), out.
/// </remarks>
public sealed record TrainingSummary
{
    /// <summary>The run's config.</summary>
    public required AutoencoderConfig Config { get; init; }
    /// <summary>What the run did (<see cref="TrainingCanceledException.Result"/> for a cancelled one).</summary>
    public required TrainingResult Result { get; init; }
    /// <summary>Whether the run reached the step it was asked to.</summary>
    public required bool Completed { get; init; }
    /// <summary>The weights hash of the model after <see cref="TrainingResult.Steps"/> steps (<see cref="Trainer.WeightsSha256"/>).</summary>
    public required string WeightsSha256 { get; init; }
    /// <summary>The backend's <see cref="IBackend.Name"/>.</summary>
    public required string Backend { get; init; }
    /// <summary>The backend's <see cref="IBackend.Description"/>.</summary>
    public required string Device { get; init; }
    /// <summary>The backend's host threads.</summary>
    public required int Threads { get; init; }
    /// <summary><see cref="TrainerOptions.WarmupSteps"/> of the run.</summary>
    public long WarmupSteps { get; init; }
    /// <summary>The host bytes the run was estimated to need.</summary>
    public long MemoryEstimateBytes { get; init; }
    /// <summary>The process's peak resident bytes.</summary>
    public long PeakRssBytes { get; init; }
    /// <summary>The folder of the run's files.</summary>
    public string Out { get; init; } = "";

    /// <summary>A summary of <paramref name="result"/> as trained on <paramref name="backend"/>.</summary>
    public static TrainingSummary Of(IBackend backend, TrainingResult result, bool completed, string weightsSha256) => new()
    {
        Config = backend.Config,
        Result = result,
        Completed = completed,
        WeightsSha256 = weightsSha256,
        Backend = backend.Name,
        Device = backend.Description,
        Threads = backend.Threads,
    };

    /// <summary>The all-zero output's loss (<see cref="Baselines.Zero"/>) of instance 0's settings.</summary>
    public double ZeroLoss => Baselines.Zero(Config.N, Config.Instances[0].P, Config.Instances[0].Importance);

    /// <summary>The best linear model's loss (<see cref="Baselines.Linear"/>) of instance 0's settings, or null where the formula does not apply.</summary>
    public double? LinearLoss => Baselines.Linear(Config.N, Config.M, Config.Instances[0].P, Config.Instances[0].Importance);

    /// <summary>The summary as one line of JSON.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            var config = Config;
            var first = config.Instances[0];
            json.WriteStartObject();
            json.WriteNumber("n", config.N);
            json.WriteNumber("m", config.M);
            json.WriteNumber("p", first.P);
            json.WriteBoolean("tied", config.Tied);
            json.WriteBoolean("bias", config.Bias);
            json.WriteNumber("batch", config.Batch);
            json.WriteNumber("steps", Result.Steps);
            json.WriteNumber("instances", config.InstanceCount);
            json.WriteString("importance", first.Importance.ToString());
            json.WriteString("optimizer", OptimizerSettings.Name(config.Optimizer.Kind));
            json.WriteNumber("lr", first.LearningRate);
            json.WriteString("backend", Backend);
            json.WriteString("device", Device);
            json.WriteNumber("threads", Threads);
            json.WriteNumber("seed", first.Seed);
            WriteMean(json, "final_loss", Result.FinalLoss);
            WriteMean(json, "eval_loss", Result.EvalLoss);
            json.WriteNumber("zero_loss", ZeroLoss);
            if (LinearLoss is double linear) json.WriteNumber("linear_loss", linear);
            else json.WriteNull("linear_loss");
            json.WriteNumber("steps_per_s", Math.Round(Result.StepsPerSecond, 3));
            json.WriteNumber("warmup_steps", WarmupSteps);
            json.WriteNumber("elapsed_s", Math.Round(Result.Elapsed.TotalSeconds, 3));
            json.WriteString("weights_sha256", WeightsSha256);
            json.WriteNumber("memory_estimate_bytes", MemoryEstimateBytes);
            json.WriteNumber("peak_rss_bytes", PeakRssBytes);
            json.WriteBoolean("completed", Completed);
            if (config.InstanceCount > 1)
            {
                WriteEach(json, "instance_final_loss", Result.FinalLoss);
                WriteEach(json, "instance_eval_loss", Result.EvalLoss ?? []);
            }
            json.WriteString("out", Out);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes <see cref="ToJson"/> and a newline to <paramref name="path"/>, atomically (<see cref="AtomicFile"/>): the old file or the whole new one.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");

    /// <summary>Each instance's value; null for one that is not finite (JSON has no NaN; a cancelled run may hold a diverged instance's).</summary>
    private static void WriteEach(Utf8JsonWriter json, string name, float[] values)
    {
        json.WriteStartArray(name);
        foreach (float v in values)
        {
            if (float.IsFinite(v)) json.WriteNumberValue(v);
            else json.WriteNullValue();
        }
        json.WriteEndArray();
    }

    /// <summary>The mean over instances (the value itself for one instance); null when unknown or not finite.</summary>
    private static void WriteMean(Utf8JsonWriter json, string name, float[]? values)
    {
        if (values is null || values.Length == 0) { json.WriteNull(name); return; }
        double mean = values.Length == 1 ? values[0] : values.Average(v => (double)v);
        if (double.IsFinite(mean)) json.WriteNumber(name, mean);
        else json.WriteNull(name);
    }
}
