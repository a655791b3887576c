using System.Globalization;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// A training state on disk: config, step, parameters and optimizer state, as .safetensors.
/// </summary>
/// <remarks>
/// Tensors (k = instances): W_in [k, m, n] and W_out [k, n, m], or W [k, m, n] when tied; b [k, n]
/// with bias; importance [k, n]; optimizer state under PyTorch's names, e.g.
/// optimizer.exp_avg.W_in and optimizer.exp_avg_sq.W_in (Adam), optimizer.momentum_buffer.W (SGD).
/// Metadata (strings): format, version, config (JSON, see <see cref="ConfigJson"/>), step, seeds,
/// weights_sha256, checksum_sha256, plus whatever the caller adds (metrics, for instance).
/// In Python: <c>safetensors.numpy.load_file(path)["W_in"][0]</c> is instance 0's W_in.
/// </remarks>
public sealed class Checkpoint
{
    public const string Format = "toymodels.checkpoint";
    public const string Version = "1";

    public AutoencoderConfig Config { get; }
    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; }
    /// <summary>In <see cref="ParameterLayout"/>.</summary>
    public float[] Parameters { get; }
    /// <summary>StateSlots blocks of <see cref="ParameterLayout"/>.</summary>
    public float[] OptimizerState { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public Checkpoint(AutoencoderConfig config, long step, float[] parameters, float[] optimizerState, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "steps are >= 0");
        if (parameters.Length != config.Layout.Total) throw new ArgumentException("parameters do not match the config's layout", nameof(parameters));
        if (optimizerState.Length != config.Optimizer.StateSlots * config.Layout.Total) throw new ArgumentException("optimizer state does not match the config", nameof(optimizerState));
        Config = config; Step = step; Parameters = parameters; OptimizerState = optimizerState;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    private static string[] SlotNames(OptimizerSettings o) => o.Kind == OptimizerKind.Sgd
        ? (o.Momentum > 0 ? ["momentum_buffer"] : [])
        : ["exp_avg", "exp_avg_sq"];

    public void Save(string path)
    {
        var layout = Config.Layout;
        int k = Config.InstanceCount;
        var tensors = new List<TensorSource>();
        void AddLayout(string prefix, float[] buffer, int bufferOffset)
        {
            foreach (var view in layout.Tensors)
            {
                var segments = new ReadOnlyMemory<float>[k];
                for (int s = 0; s < k; s++)
                    segments[s] = buffer.AsMemory(bufferOffset + s * layout.PerInstance + view.Offset, view.Length);
                tensors.Add(new TensorSource(prefix + view.Name, Shape(layout, view), segments));
            }
        }
        AddLayout("", Parameters, 0);
        var importance = new float[k * Config.N];
        for (int s = 0; s < k; s++) Config.Instances[s].Importance.Compute(Config.N).CopyTo(importance, s * Config.N);
        tensors.Add(new TensorSource("importance", [k, Config.N], importance));
        var slots = SlotNames(Config.Optimizer);
        for (int slot = 0; slot < slots.Length; slot++)
            AddLayout($"optimizer.{slots[slot]}.", OptimizerState, slot * layout.Total);

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Metadata) metadata[key] = value;
        metadata["format"] = Format;
        metadata["version"] = Version;
        metadata["config"] = ConfigJson.Write(Config);
        metadata["step"] = Step.ToString(CultureInfo.InvariantCulture);
        metadata["seeds"] = "[" + string.Join(",", Config.Instances.Select(i => i.Seed.ToString(CultureInfo.InvariantCulture))) + "]";
        metadata["weights_sha256"] = WeightsHash.Of(Parameters);
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Loads and checks a checkpoint; every problem is a <see cref="CheckpointException"/> saying what is wrong.</summary>
    public static Checkpoint Load(string path)
    {
        var (metadata, tensors) = SafeTensors.Read(path);
        string Meta(string key) => metadata.TryGetValue(key, out var value) ? value
            : throw new CheckpointException(FileError.Mismatch, path, $"__metadata__ has no '{key}'; this is not a checkpoint of this engine");
        if (Meta("format") != Format) throw new CheckpointException(FileError.Mismatch, path, $"format is '{Meta("format")}', expected '{Format}'");
        if (Meta("version") != Version) throw new CheckpointException(FileError.Mismatch, path, $"checkpoint version {Meta("version")} is not supported (this engine reads version {Version})");
        AutoencoderConfig config;
        try { config = ConfigJson.Parse(Meta("config")); }
        catch (ConfigException e) { throw new CheckpointException(FileError.Mismatch, path, $"the stored config is invalid: {e.Message}", e); }
        if (!long.TryParse(Meta("step"), NumberStyles.None, CultureInfo.InvariantCulture, out long step) || step > AutoencoderConfig.MaxSteps)
            throw new CheckpointException(FileError.Mismatch, path, $"step '{Meta("step")}' is not a step count");

        var layout = config.Layout;
        int k = config.InstanceCount;
        var expected = new HashSet<string>(StringComparer.Ordinal) { "importance" };
        void ReadLayout(string prefix, float[] buffer, int bufferOffset)
        {
            foreach (var view in layout.Tensors)
            {
                string name = prefix + view.Name;
                expected.Add(name);
                if (!tensors.TryGetValue(name, out var tensor))
                    throw new CheckpointException(FileError.Mismatch, path, $"tensor '{name}' is missing");
                int[] shape = Shape(layout, view);
                if (!tensor.Shape.SequenceEqual(shape))
                    throw new CheckpointException(FileError.Mismatch, path, $"tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}]; the config needs [{string.Join(", ", shape)}]");
                for (int s = 0; s < k; s++)
                    tensor.Data.AsSpan(s * view.Length, view.Length).CopyTo(buffer.AsSpan(bufferOffset + s * layout.PerInstance + view.Offset, view.Length));
            }
        }
        var parameters = new float[layout.Total];
        ReadLayout("", parameters, 0);
        var slots = SlotNames(config.Optimizer);
        var state = new float[slots.Length * layout.Total];
        for (int slot = 0; slot < slots.Length; slot++)
            ReadLayout($"optimizer.{slots[slot]}.", state, slot * layout.Total);
        foreach (var name in tensors.Keys)
            if (!expected.Contains(name))
                throw new CheckpointException(FileError.Mismatch, path, $"tensor '{name}' does not belong to a checkpoint of this config");
        if (WeightsHash.Of(parameters) != Meta("weights_sha256"))
            throw new CheckpointException(FileError.ChecksumMismatch, path, "weights_sha256 does not match the parameters");
        return new Checkpoint(config, step, parameters, state, metadata);
    }

    /// <summary>[k, rows, columns] for the matrices, [k, n] for b.</summary>
    private static int[] Shape(ParameterLayout layout, TensorView view) =>
        view == layout.BiasVector ? [layout.Instances, view.Columns] : [layout.Instances, view.Rows, view.Columns];
}
