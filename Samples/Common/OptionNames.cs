using System.Text.RegularExpressions;

namespace ToyModels.Samples;

/// <summary>
/// The engine names a setting by its own property (<see cref="Model.ConfigException.Field"/>, e.g.
/// "OptimizerSettings.Eps"); a program names it by its command-line option ("--adam-eps"). This is the one table
/// between the two, for every program of the repository; a program whose option differs passes its own entries.
/// </summary>
public static partial class OptionNames
{
    /// <summary>Engine setting to option, as Samples/Train, Samples/PersianRug, Samples/Sweep and measure spell them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Standard = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AutoencoderConfig.N"] = "--n",
        ["AutoencoderConfig.M"] = "--m",
        ["AutoencoderConfig.Batch"] = "--batch",
        ["AutoencoderConfig.Instances"] = "--instances",
        ["AutoencoderConfig.Init"] = "--init",
        ["InstanceSettings.P"] = "--p",
        ["InstanceSettings.LearningRate"] = "--lr",
        ["InstanceSettings.Importance"] = "--importance",
        ["InstanceSettings.Seed"] = "--seed",
        ["OptimizerSettings.Kind"] = "--optimizer",
        ["OptimizerKind.Sgd"] = "sgd",
        ["OptimizerSettings.Beta1"] = "--beta1",
        ["OptimizerSettings.Beta2"] = "--beta2",
        ["OptimizerSettings.Eps"] = "--adam-eps",
        ["OptimizerSettings.WeightDecay"] = "--weight-decay",
        ["OptimizerSettings.Momentum"] = "--momentum",
        ["TrainerOptions.EvalSamples"] = "--eval-samples",
        ["TrainerOptions.LogEvery"] = "--log-every",
        ["TrainerOptions.EvalEvery"] = "--eval-every",
        ["TrainerOptions.WarmupSteps"] = "--warmup-steps",
        ["TrainerOptions.CheckpointEvery"] = "--checkpoint-every",
        ["Trainer.Run(totalSteps)"] = "--steps",
        ["Trainer.Evaluate(samples)"] = "--eval-samples",
        ["BackendKind"] = "--backend",
        ["BackendOptions.Threads"] = "--threads",
        ["BackendOptions.Device"] = "--device",
        ["StandardCases.Get(name)"] = "--case",
        ["PersianRug.Create(n)"] = "--n",
        ["PersianRug.Create(m)"] = "--m",
        ["RugFitOptions.Steps"] = "--fit-steps",
        ["RugFitOptions.LearningRate"] = "--fit-lr",
        ["SweepPlan.Packs(maxInstances)"] = "--pack",
        ["SweepShard.Parse(text)"] = "--shard",
        ["SweepShard.Resolve(shard)"] = "--shard",
        ["SweepShard.Resolve(shardCount)"] = "--shard-count",
        ["SweepFolder.Path"] = "--out",
        ["SweepFolder.Claim(force)"] = "--force",
        ["SweepGrid.Load(maxRuns)"] = "--max-runs",
    };

    /// <summary>
    /// <paramref name="text"/> with every engine setting it names replaced by the option (<paramref name="own"/> first, then
    /// <see cref="Standard"/>); "AutoencoderConfig.Instances[2].P" becomes "--p (instance 2)". A setting without an option stays as it is.
    /// </summary>
    public static string Translate(string text, IReadOnlyDictionary<string, string>? own = null)
    {
        string Option(string setting) =>
            own is not null && own.TryGetValue(setting, out var mine) ? mine : Standard.TryGetValue(setting, out var option) ? option : setting;
        text = InstanceSetting().Replace(text, m => $"{Option("InstanceSettings." + m.Groups[2].Value)} (instance {m.Groups[1].Value})");
        return Setting().Replace(text, m => Option(m.Value));
    }

    [GeneratedRegex(@"AutoencoderConfig\.Instances\[(\d+)\]\.(\w+)")]
    private static partial Regex InstanceSetting();

    /// <summary>A type's member, or a method's parameter: "OptimizerSettings.Eps", "Trainer.Run(totalSteps)", and "BackendKind".</summary>
    [GeneratedRegex(@"\b[A-Z]\w*\.[A-Z]\w*(?:\(\w+\))?|\bBackendKind\b")]
    private static partial Regex Setting();
}
