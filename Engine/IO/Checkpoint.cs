using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// A training state on disk: config, step, parameters and optimizer state, as .safetensors; and in memory, for
/// models whose buffers fit arrays. Large models stream to and from their backend instead
/// (<see cref="CheckpointWriter"/>, <see cref="CheckpointReader"/>), which is also how this class saves and loads.
/// </summary>
/// <remarks>
/// Tensors (k = instances): W_in [k, m, n] and W_out [k, n, m], or W [k, m, n] when tied; b [k, n]
/// with bias; importance [k, n]; optimizer state under PyTorch's names, e.g.
/// optimizer.exp_avg.W_in and optimizer.exp_avg_sq.W_in (Adam), optimizer.momentum_buffer.W (SGD).
/// Metadata (strings): format, version, config (JSON, see <see cref="ConfigJson"/>), step, seeds,
/// weights_sha256, checksum_sha256, plus whatever the caller adds (metrics, for instance).
/// In Python: <c>safetensors.numpy.load_file(path)["W_in"][0]</c> is instance 0's W_in.
/// </remarks>
public sealed class Checkpoint : IModelState
{
    /// <summary>The value of the "format" metadata entry that marks a file as a checkpoint of this engine.</summary>
    public const string Format = "toymodels.checkpoint";
    /// <summary>The value of the "version" metadata entry this engine writes and reads.</summary>
    public const string Version = "1";

    /// <summary>The run the state belongs to.</summary>
    public AutoencoderConfig Config { get; }
    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; }
    /// <summary>In <see cref="ParameterLayout"/>.</summary>
    public float[] Parameters { get; }
    /// <summary>StateSlots blocks of <see cref="ParameterLayout"/>.</summary>
    public float[] OptimizerState { get; }
    /// <summary>Extra metadata saved with the state (the caller's; a loaded checkpoint's holds every entry of the file).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>A state in memory; the arrays are kept, not copied.</summary>
    /// <param name="config">The run.</param>
    /// <param name="step">Optimizer steps completed, &gt;= 0.</param>
    /// <param name="parameters">Layout.Total floats in <see cref="ParameterLayout"/>.</param>
    /// <param name="optimizerState">Optimizer.StateSlots x Layout.Total floats (empty for plain SGD).</param>
    /// <param name="metadata">Extra metadata to save; null for none.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    /// <exception cref="ArgumentException">An array of another length than the config's layout needs.</exception>
    public Checkpoint(AutoencoderConfig config, long step, float[] parameters, float[] optimizerState, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizerState);
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "steps are >= 0");
        if (parameters.Length != config.Layout.Total) throw new ArgumentException("parameters do not match the config's layout", nameof(parameters));
        if (optimizerState.Length != config.OptimizerStateLength()) throw new ArgumentException("optimizer state does not match the config", nameof(optimizerState));
        Config = config; Step = step; Parameters = parameters; OptimizerState = optimizerState;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>Writes the state to <paramref name="path"/> atomically (a reader never sees half a file).</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path) => CheckpointWriter.Write(path, this, Step, Metadata);

    /// <summary>Loads and checks a checkpoint; every problem is a <see cref="CheckpointException"/> saying what is wrong.</summary>
    public static Checkpoint Load(string path)
    {
        using var reader = CheckpointReader.Open(path);
        var layout = reader.Config.Layout;
        if (reader.Config.OptimizerStateLength() > Array.MaxLength || layout.Total > Array.MaxLength)
            throw new CheckpointException(FileError.Mismatch, path, $"the model ({layout.Total} parameters) is too large to load into arrays; load it into a backend (CheckpointReader)");
        var checkpoint = new Checkpoint(reader.Config, reader.Step, new float[layout.Total], new float[reader.Config.OptimizerStateLength()], reader.Metadata);
        reader.ReadInto(checkpoint);
        return checkpoint;
    }

    void IModelState.ReadParameters(long start, Span<float> destination) => Parameters.AsSpan(Range(start, destination.Length, Parameters)).CopyTo(destination);
    void IModelState.WriteParameters(long start, ReadOnlySpan<float> source) => source.CopyTo(Parameters.AsSpan(Range(start, source.Length, Parameters)));
    void IModelState.ReadOptimizerState(long start, Span<float> destination) => OptimizerState.AsSpan(Range(start, destination.Length, OptimizerState)).CopyTo(destination);
    void IModelState.WriteOptimizerState(long start, ReadOnlySpan<float> source) => source.CopyTo(OptimizerState.AsSpan(Range(start, source.Length, OptimizerState)));

    private static Range Range(long start, int length, float[] buffer)
    {
        ModelStateExtensions.CheckRange(start, length, buffer.Length, "checkpoint buffer");
        return new Range((int)start, (int)start + length);
    }
}
