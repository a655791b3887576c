using System.Globalization;
using System.Text.Json;
using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// Reads a checkpoint (<see cref="Checkpoint"/> describes the format) in two stages, so a run can be sized and
/// refused before anything large is allocated: <see cref="Open"/> reads and checks the header (format, version,
/// config, step, seeds, weights hash, and every tensor the config needs, with its shape and nothing else), and
/// <see cref="ReadInto"/> streams the tensors into a model's state (a backend, or an in-memory checkpoint) a piece
/// at a time, checking every value, then the file's checksum and the weights hash.
/// </summary>
/// <remarks>
/// Every problem is a <see cref="CheckpointException"/> that says what is wrong with the file: a value no training
/// writes (NaN or infinite parameters, optimizer state or importance; a negative second moment), importance that
/// its config contradicts, metadata that is missing or malformed, a tensor missing, misshapen or foreign.
/// </remarks>
public sealed class CheckpointReader : IDisposable
{
    private readonly SafeTensorsFile _file;
    private readonly IReadOnlyList<CheckpointTensor> _tensors;

    /// <summary>The file being read.</summary>
    public string Path => _file.Path;
    /// <summary>The run stored in the file (checked like any config).</summary>
    public AutoencoderConfig Config { get; }
    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; }
    /// <summary>Every metadata entry of the file, the engine's own included.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _file.Metadata;

    private CheckpointReader(SafeTensorsFile file, AutoencoderConfig config, long step)
    {
        _file = file;
        Config = config;
        Step = step;
        _tensors = CheckpointTensors.Of(config);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _file.Dispose();

    /// <summary>Opens <paramref name="path"/> and checks its header and tensor list; the tensors are read by <see cref="ReadInto"/>.</summary>
    /// <exception cref="CheckpointException">The file is missing, unreadable, not a checkpoint, or inconsistent; the message says which.</exception>
    public static CheckpointReader Open(string path)
    {
        var file = SafeTensorsFile.Open(path);
        try
        {
            var reader = Check(file);
            reader.CheckTensors();
            return reader;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static CheckpointReader Check(SafeTensorsFile file)
    {
        string path = file.Path;
        var metadata = file.Metadata;
        string Meta(string key) => metadata.TryGetValue(key, out var value) ? value
            : throw new CheckpointException(FileError.Mismatch, path, $"__metadata__ has no '{key}'; this is not a checkpoint of this engine");
        if (Meta("format") != Checkpoint.Format) throw new CheckpointException(FileError.Mismatch, path, $"format is '{Meta("format")}', expected '{Checkpoint.Format}'");
        if (Meta("version") != Checkpoint.Version)
            throw new CheckpointException(FileError.Mismatch, path, $"checkpoint version {Meta("version")} is not supported (this engine reads version {Checkpoint.Version})");
        AutoencoderConfig config;
        try { config = ConfigJson.Parse(Meta("config")); }
        catch (ConfigException e) { throw new CheckpointException(FileError.Mismatch, path, $"the stored config is invalid: {e.Message}", e); }
        if (!long.TryParse(Meta("step"), NumberStyles.None, CultureInfo.InvariantCulture, out long step) || step > AutoencoderConfig.MaxSteps)
            throw new CheckpointException(FileError.Mismatch, path, $"step '{Meta("step")}' is not a step count");
        CheckSeeds(path, Meta("seeds"), config);
        string weights = Meta("weights_sha256");
        if (weights.Length != 64 || !weights.All(char.IsAsciiHexDigitLower))
            throw new CheckpointException(FileError.Mismatch, path, $"weights_sha256 '{weights}' is not a SHA-256 in lowercase hex");
        return new CheckpointReader(file, config, step);
    }

    /// <summary>seeds: a JSON array of the instances' seeds, which must be the stored config's.</summary>
    private static void CheckSeeds(string path, string text, AutoencoderConfig config)
    {
        var expected = config.Instances.Select(i => i.Seed).ToArray();
        string wanted = "[" + string.Join(",", expected) + "]";
        ulong[]? seeds = null;
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Array)
                seeds = document.RootElement.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out ulong v) ? v : throw new FormatException()).ToArray();
        }
        catch (Exception e) when (e is JsonException or FormatException) { }
        if (seeds is null)
            throw new CheckpointException(FileError.Mismatch, path, $"seeds '{text}' is not a JSON array of unsigned integers (the stored config's are {wanted})");
        if (!seeds.SequenceEqual(expected))
            throw new CheckpointException(FileError.Mismatch, path, $"seeds [{string.Join(",", seeds)}] disagree with the stored config's instance seeds {wanted}");
    }

    private void CheckTensors()
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in _tensors)
        {
            expected.Add(tensor.Name);
            var entry = _file.Entry(tensor.Name)
                ?? throw new CheckpointException(FileError.Mismatch, Path, $"tensor '{tensor.Name}' is missing; the stored config needs it");
            if (!entry.Shape.SequenceEqual(tensor.Shape))
                throw new CheckpointException(FileError.Mismatch, Path,
                    $"tensor '{tensor.Name}' has shape [{string.Join(", ", entry.Shape)}]; the stored config needs [{string.Join(", ", tensor.Shape)}]");
        }
        foreach (var entry in _file.Entries)
            if (!expected.Contains(entry.Name))
                throw new CheckpointException(FileError.Mismatch, Path, $"tensor '{entry.Name}' does not belong to a checkpoint of this config");
    }

    /// <summary>Streams every tensor into <paramref name="target"/> (a state of the same config), checking as it goes.</summary>
    public void ReadInto(IModelState target)
    {
        if (ConfigJson.Write(target.Config) != ConfigJson.Write(Config))
            throw new ArgumentException("the target's config differs from the checkpoint's", nameof(target));
        var layout = Config.Layout;
        var byName = _tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var importance = Config.Instances.Select(i => i.Importance.Compute(Config.N)).ToArray();
        _file.ReadAll((entry, start, piece) =>
        {
            var tensor = byName[entry.Name];
            if (tensor.Buffer == StateBuffer.Importance)
            {
                CheckImportance(tensor, start, piece, importance);
                return;
            }
            CheckValues(tensor, start, piece);
            foreach (var (offset, at, count) in tensor.Runs(layout, start, piece.Length))
            {
                if (tensor.Buffer == StateBuffer.Parameters) target.WriteParameters(offset, piece.Slice(at, count));
                else target.WriteOptimizerState(offset, piece.Slice(at, count));
            }
        });
        if (WeightsHash.Of(target) != Metadata["weights_sha256"])
            throw new CheckpointException(FileError.ChecksumMismatch, Path, "weights_sha256 does not match the parameters");
    }

    /// <summary>Parameters and optimizer state are finite, and a second moment (exp_avg_sq) is not negative.</summary>
    private void CheckValues(CheckpointTensor tensor, long start, ReadOnlySpan<float> piece)
    {
        bool secondMoment = tensor.Slot == "exp_avg_sq";
        for (int e = 0; e < piece.Length; e++)
        {
            float v = piece[e];
            if (float.IsFinite(v) && !(secondMoment && v < 0)) continue;
            string what = tensor.Buffer == StateBuffer.Parameters ? "parameter" : "optimizer state";
            string why = float.IsFinite(v)
                ? "a running mean of squared gradients is never negative"
                : $"training from it would only spread the {v} (a run that diverges stops before its checkpoint)";
            throw new CheckpointException(FileError.BadValue, Path, $"{what} {tensor.Element(start + e)} is {Format(v)}: {why}; the file is damaged or was not written by this engine");
        }
    }

    /// <summary>importance [k, n] is what the stored config's importance gives, bit for bit.</summary>
    private void CheckImportance(CheckpointTensor tensor, long start, ReadOnlySpan<float> piece, float[][] expected)
    {
        int n = Config.N;
        for (int e = 0; e < piece.Length; e++)
        {
            long at = start + e;
            int s = (int)(at / n), i = (int)(at % n);
            float v = piece[e], want = expected[s][i];
            if (BitConverter.SingleToInt32Bits(v) == BitConverter.SingleToInt32Bits(want)) continue;
            throw new CheckpointException(FileError.BadValue, Path, float.IsFinite(v)
                ? $"{tensor.Element(at)} is {Format(v)}, but the stored config's importance {Config.Instances[s].Importance} gives {Format(want)}; the file contradicts itself"
                : $"{tensor.Element(at)} is {Format(v)}: importance is finite ({Config.Instances[s].Importance} gives {Format(want)}); the file is damaged or was not written by this engine");
        }
    }

    private static string Format(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
