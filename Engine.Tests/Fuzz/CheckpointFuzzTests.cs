using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Training;
using ToyModels.Tests.Support;
using Xunit.Abstractions;

namespace ToyModels.Tests.Fuzz;

/// <summary>
/// Mutated checkpoints through <see cref="Checkpoint.Load"/>: bit flips, truncations and byte edits of real files, and
/// crafted files with a valid checksum (edited config, step and metadata, missing, renamed, reshaped or extra tensors,
/// non-finite values). Each is refused with a <see cref="CheckpointException"/> whose message is one line, or loads as
/// a sound checkpoint: sizes that agree with its config, its weights hash, and a save that loads back to the same
/// bits. Anything else fails the test with the case's seed. A few go through Samples/Train --resume.
/// </summary>
public sealed class CheckpointFuzzTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-checkpointfuzz-").FullName;
    private readonly List<byte[]> _bases = [];

    private readonly ITestOutputHelper _output;

    public CheckpointFuzzTests(ITestOutputHelper output)
    {
        _output = output;
        AutoencoderConfig[] configs =
        [
            ParityCases.Make(8, 3, 4, false, true, 0.2, Importance.Uniform, instances: 2),
            ParityCases.Make(5, 2, 3, true, false, 0.3, Importance.Decay(0.9), instances: 1,
                optimizer: new OptimizerSettings { Kind = OptimizerKind.Sgd, Momentum = 0.9 }),
            ParityCases.Make(6, 4, 2, false, false, 0.1, Importance.Power(1), instances: 3,
                optimizer: new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0.01 }, init: InitKind.XavierNormal),
        ];
        foreach (var config in configs)
        {
            using var backend = BackendFactory.Create(BackendKind.Reference, config);
            var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0 });
            trainer.Run(3);
            string path = Path.Combine(_folder, "base.safetensors");
            trainer.Snapshot(new Dictionary<string, string> { ["note"] = "fuzz base" }).Save(path);
            _bases.Add(File.ReadAllBytes(path));
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly string[] SizeLiterals = ["0", "-1", "1", "2", "3", "7", "9", "2.5", "\"8\"", "null", "true"];
    private static readonly string[] Literals =
    [
        "0", "-1", "1", "0.5", "0.999", "1.5", "1e-45", "1e308", "100000000", "2147483647", "2147483648", "18446744073709551616", "\"x\"", "\"\"",
        "null", "true", "[]", "{}", "\"decay:2\"", "\"decay:0.5\"", "\"power:3\"", "\"sgd\"", "\"adamw\"", "\"xavier\"", "\"NaN\"",
    ];
    private static readonly string[] StepTexts = ["-1", "abc", "", " 3", "3 ", "99999999999999999999", "1e3", "0", "5", "+3", "0x10", "3.0"];
    private static readonly float[] Specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, -1f, 1e-45f, float.MaxValue];

    /// <summary>
    /// One mutated file from one base: its bytes, what was done, and what its refusal must say where the file breaks
    /// a rule of the checkpoint validation (null where it may load), chosen by <paramref name="random"/>.
    /// </summary>
    private (byte[] Bytes, string What, string? Refusal) Mutate(Random random)
    {
        byte[] file = (byte[])_bases[random.Next(_bases.Count)].Clone();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        switch (random.Next(9))
        {
            case 0:
            {
                int flips = random.Next(1, 4);
                for (int f = 0; f < flips; f++) file[random.Next(file.Length)] ^= (byte)(1 << random.Next(8));
                return (file, $"{flips} bit(s) flipped", null);
            }
            case 1:
            {
                int at = random.Next(8, headerEnd);
                byte was = file[at];
                file[at] = (byte)"{}[]:,\"0123456789.-eE \\aFz\n"[random.Next(27)];
                return (file, $"header byte {at} '{(char)was}' -> '{(char)file[at]}'", null);
            }
            case 2:
            {
                int length = random.Next(file.Length);
                return (file[..length], $"truncated to {length} bytes", null);
            }
            case 3:
            {
                var extra = new byte[random.Next(1, 64)];
                random.NextBytes(extra);
                return ([.. file, .. extra], $"{extra.Length} bytes appended", null);
            }
            case 4:
            {
                ulong[] lengths = [0, 1, 2, (ulong)(headerEnd - 9), (ulong)(headerEnd - 7), (ulong)file.Length, 100UL << 20, ulong.MaxValue, 1UL << 63];
                ulong length = lengths[random.Next(lengths.Length)];
                BinaryPrimitives.WriteUInt64LittleEndian(file, length);
                return (file, $"header length set to {length}", null);
            }
            case 5:
                return Crafted(file, random, editValues: true);
            case 6:
                return DuplicateKey(file, headerEnd, random);
            default:
                return Crafted(file, random, editValues: false);
        }
    }

    /// <summary>An edit that keeps the file well formed and its checksum valid, so that loading gets past both.</summary>
    private (byte[], string, string?) Crafted(byte[] file, Random random, bool editValues)
    {
        string path = Path.Combine(_folder, "crafted.safetensors");
        File.WriteAllBytes(path, file);
        if (editValues)
        {
            // Non-finite or extreme values with every hash recomputed: the file a bad run or a careful forger would write.
            var checkpoint = Checkpoint.Load(path);
            var buffer = random.Next(2) == 0 || checkpoint.OptimizerState.Length == 0 ? checkpoint.Parameters : checkpoint.OptimizerState;
            int at = random.Next(buffer.Length);
            buffer[at] = Specials[random.Next(Specials.Length)];
            new Checkpoint(checkpoint.Config, checkpoint.Step, checkpoint.Parameters, checkpoint.OptimizerState, checkpoint.Metadata).Save(path);
            // A non-finite value anywhere, and a negative second moment, are refused naming the element.
            string? valueRefusal = !float.IsFinite(buffer[at]) ? NonFinite : buffer[at] < 0 && buffer == checkpoint.OptimizerState && SecondMoment(checkpoint.Config, at) ? "never negative" : null;
            return (File.ReadAllBytes(path), $"{(buffer == checkpoint.Parameters ? "parameter" : "optimizer state")} {at} = {buffer[at]}, rehashed", valueRefusal);
        }
        var (metadata, tensors) = SafeTensors.Read(path);
        var meta = metadata.ToDictionary();
        var list = tensors.Values.Select(t => (t.Name, t.Shape, t.Data)).ToList();
        string what;
        string? refusal = null;
        switch (random.Next(7))
        {
            case 0:
                what = EditConfig(meta, random);
                break;
            case 1:
                meta["step"] = StepTexts[random.Next(StepTexts.Length)];
                what = $"step = '{meta["step"]}'";
                break;
            case 2:
            {
                string[] keys = ["format", "version", "config", "step", "seeds", "weights_sha256"];
                string key = keys[random.Next(keys.Length)];
                if (random.Next(2) == 0) { meta.Remove(key); what = $"metadata {key} removed"; }
                else { meta[key] = Literals[random.Next(Literals.Length)]; what = $"metadata {key} = {meta[key]}"; }
                if (key == "seeds") refusal = "seeds"; // no literal is the config's array of seeds
                break;
            }
            case 3:
            {
                int k = random.Next(list.Count);
                what = $"tensor {list[k].Name} removed";
                list.RemoveAt(k);
                break;
            }
            case 4:
            {
                int k = random.Next(list.Count);
                string[] names = ["W_in", "W_out", "W", "b", "importance", "optimizer.exp_avg.W_in", "optimizer.momentum_buffer.W", "extra", "W_in "];
                string name = names[random.Next(names.Length)];
                if (list.Any(t => t.Name == name)) { what = $"tensor {name} dropped"; list.RemoveAll(t => t.Name == name); }
                else if (random.Next(2) == 0) { what = $"tensor {list[k].Name} renamed {name}"; list[k] = (name, list[k].Shape, list[k].Data); }
                else { what = $"tensor {name} added"; list.Add((name, [2], [1f, 2f])); }
                break;
            }
            case 5:
            {
                int k = random.Next(list.Count);
                var (name, shape, data) = list[k];
                int[] reshaped = random.Next(3) switch { 0 => [.. shape.Reverse()], 1 => [data.Length], _ => [.. shape, 1] };
                if (random.Next(3) == 0) { reshaped = [data.Length + 1]; data = [.. data, 0f]; }
                list[k] = (name, reshaped, data);
                what = $"tensor {name} [{string.Join(", ", shape)}] -> [{string.Join(", ", reshaped)}]";
                if (name == "importance" && !reshaped.SequenceEqual(shape)) refusal = "importance";
                break;
            }
            default:
            {
                // The importance and any other tensor the weights hash does not cover.
                int k = random.Next(list.Count);
                var data = (float[])list[k].Data.Clone();
                int at = random.Next(data.Length);
                float was = data[at];
                data[at] = Specials[random.Next(Specials.Length)];
                list[k] = (list[k].Name, list[k].Shape, data);
                what = $"tensor {list[k].Name}[{at}] = {data[at]}";
                // Importance is what the config gives, bit for bit; a non-finite second moment is refused as such.
                if (list[k].Name == "importance" && BitConverter.SingleToInt32Bits(was) != BitConverter.SingleToInt32Bits(data[at])) refusal = "importance";
                else if (list[k].Name.StartsWith("optimizer.exp_avg_sq.", StringComparison.Ordinal) && !float.IsFinite(data[at])) refusal = NonFinite;
                break;
            }
        }
        SafeTensors.Write(path, list.Select(t => new TensorSource(t.Name, t.Shape, t.Data)).ToList(), meta);
        return (File.ReadAllBytes(path), what + " (valid checksum)", refusal);
    }

    /// <summary>What the refusal of a NaN or infinite parameter or optimizer state says.</summary>
    private const string NonFinite = "training from it would only spread";

    /// <summary>Whether optimizer state element <paramref name="at"/> is Adam's second moment (exp_avg_sq, the second slot).</summary>
    private static bool SecondMoment(AutoencoderConfig config, int at) =>
        config.Optimizer.Kind != OptimizerKind.Sgd && at >= config.Layout.Total;

    /// <summary>
    /// A key of the header given twice (a metadata entry, a tensor, or a field of a tensor), the rest untouched: JSON
    /// readers differ on which one holds, so loading refuses it whatever the checksum says.
    /// </summary>
    private static (byte[], string, string?) DuplicateKey(byte[] file, int headerEnd, Random random)
    {
        string header = Encoding.UTF8.GetString(file, 8, headerEnd - 8);
        var root = JsonNode.Parse(header)!.AsObject();
        string[] tensors = [.. root.Select(p => p.Key).Where(k => k != "__metadata__")];
        string tensor = tensors[random.Next(tensors.Length)];
        (string Object, string Key, string Value) twice = random.Next(3) switch
        {
            0 => ("\"__metadata__\":{", "step", root["__metadata__"]!["step"]!.ToJsonString()),
            1 => ("{", tensor, root[tensor]!.ToJsonString()),
            _ => ($"\"{tensor}\":{{", "dtype", "\"F32\""),
        };
        int at = header.IndexOf(twice.Object, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{twice.Object} not in the header {header}");
        at += twice.Object.Length;
        string edited = header[..at] + $"\"{twice.Key}\":{twice.Value}," + header[at..];
        byte[] json = Encoding.UTF8.GetBytes(edited);
        var bytes = new byte[8 + json.Length + file.Length - headerEnd];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        file.AsSpan(headerEnd).CopyTo(bytes.AsSpan(8 + json.Length));
        return (bytes, $"key '{twice.Key}' given twice in {twice.Object.TrimEnd('{', ':')}", "twice");
    }

    /// <summary>One field of the stored config set to an awkward value; sizes stay small, so a loader that trusts them allocates little.</summary>
    private static string EditConfig(Dictionary<string, string> meta, Random random)
    {
        var config = JsonNode.Parse(meta["config"])!.AsObject();
        var instances = config["instances"]!.AsArray();
        string what;
        switch (random.Next(4))
        {
            case 0:
            {
                string field = random.Next(2) == 0 ? "n" : "m", literal = SizeLiterals[random.Next(SizeLiterals.Length)];
                config[field] = JsonNode.Parse(literal);
                what = $"config.{field} = {literal}";
                break;
            }
            case 1:
            {
                string[] fields = ["tied", "bias", "batch", "init", "optimizer", "extra"];
                string field = fields[random.Next(fields.Length)], literal = Literals[random.Next(Literals.Length)];
                config[field] = JsonNode.Parse(literal);
                what = $"config.{field} = {literal}";
                break;
            }
            case 2:
            {
                string[] fields = ["kind", "beta1", "beta2", "eps", "weight_decay", "momentum"];
                string field = fields[random.Next(fields.Length)], literal = Literals[random.Next(Literals.Length)];
                config["optimizer"]![field] = JsonNode.Parse(literal);
                what = $"config.optimizer.{field} = {literal}";
                break;
            }
            default:
            {
                int k = random.Next(instances.Count);
                if (random.Next(4) == 0)
                {
                    if (random.Next(2) == 0) instances.RemoveAt(k);
                    else instances.Add(instances[k]!.DeepClone());
                    what = $"config.instances has {instances.Count}";
                    break;
                }
                string[] fields = ["seed", "p", "lr", "importance"];
                string field = fields[random.Next(fields.Length)], literal = Literals[random.Next(Literals.Length)];
                instances[k]![field] = JsonNode.Parse(literal);
                what = $"config.instances[{k}].{field} = {literal}";
                break;
            }
        }
        meta["config"] = config.ToJsonString();
        return what;
    }

    /// <summary>
    /// Loads the file; true when refused cleanly, false when it loaded as a sound checkpoint; fails the test otherwise,
    /// and where the file breaks a rule of the validation (<paramref name="refusal"/> not null), unless it is refused
    /// saying so.
    /// </summary>
    private bool Refused(string path, string what, string? refusal)
    {
        Checkpoint checkpoint;
        try { checkpoint = Checkpoint.Load(path); }
        catch (CheckpointException e)
        {
            Assert.True(e.Message.Length > path.Length + 2 && !e.Message.Contains('\n'), $"{what}: the message is not one line: {FuzzSettings.Quote(e.Message)}");
            Assert.True(refusal is null || e.Message.Contains(refusal, StringComparison.Ordinal),
                $"{what}: refused, but not saying '{refusal}': {FuzzSettings.Quote(e.Message)}");
            return true;
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name} instead of a CheckpointException: {e.Message}");
            return false;
        }
        Assert.True(refusal is null, $"{what}: loaded, but the file breaks a rule that must refuse it ('{refusal}')");
        var layout = checkpoint.Config.Layout;
        Assert.Equal(layout.Total, checkpoint.Parameters.Length);
        Assert.Equal(checkpoint.Config.Optimizer.StateSlots * layout.Total, checkpoint.OptimizerState.Length);
        Assert.InRange(checkpoint.Step, 0, AutoencoderConfig.MaxSteps);
        Assert.Equal(checkpoint.Metadata["weights_sha256"], WeightsHash.Of(checkpoint.Parameters));
        string again = Path.Combine(_folder, "again.safetensors");
        checkpoint.Save(again);
        var back = Checkpoint.Load(again);
        Assert.Equal(ConfigJson.Write(checkpoint.Config), ConfigJson.Write(back.Config));
        Assert.Equal(checkpoint.Step, back.Step);
        Bits.Equal(checkpoint.Parameters, back.Parameters, $"{what}: parameters saved and loaded again");
        Bits.Equal(checkpoint.OptimizerState, back.OptimizerState, $"{what}: optimizer state saved and loaded again");
        return false;
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Mutated_checkpoints_are_refused_with_one_line_or_load_soundly()
    {
        int count = FuzzSettings.Count(300), seed = FuzzSettings.Seed, refused = 0;
        var rules = new Dictionary<string, int>();
        string path = Path.Combine(_folder, "mutated.safetensors");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int k = 0; k < count; k++)
        {
            var (bytes, what, refusal) = Mutate(new Random(seed + k));
            File.WriteAllBytes(path, bytes);
            if (Refused(path, $"case {seed + k} ({what})", refusal)) refused++;
            if (refusal is not null) rules[refusal] = rules.GetValueOrDefault(refusal) + 1;
        }
        _output.WriteLine($"{count} mutated checkpoints (seeds {seed} ..): {refused} refused, {count - refused} loaded, in {clock.Elapsed.TotalSeconds:F2} s; " +
            $"refused by a rule of the validation: {string.Join(", ", rules.OrderBy(r => r.Key).Select(r => $"'{r.Key}' {r.Value}"))}");
        if (count >= 100) Assert.InRange(refused, count / 2, count); // byte edits are always refused; some crafted files load
        // Every rule of the validation the mutations can break is broken at least once in a CI run's cases.
        if (count >= 300) Assert.All(new[] { "twice", "seeds", "importance", NonFinite }, rule => Assert.True(rules.ContainsKey(rule), $"no case broke '{rule}'"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Mutated_checkpoints_through_train_resume_exit_2_with_one_line()
    {
        var random = new Random(FuzzSettings.Seed);
        byte[] flipped = (byte[])_bases[0].Clone();
        flipped[^5] ^= 0x10;
        // A checksum-valid file with a tensor whose name holds a line break: the message quotes it, escaped.
        string crafted = Path.Combine(_folder, "newline.safetensors");
        File.WriteAllBytes(crafted, _bases[0]);
        var (metadata, tensors) = SafeTensors.Read(crafted);
        SafeTensors.Write(crafted, [.. tensors.Values.Select(t => new TensorSource(t.Name, t.Shape, t.Data)), new TensorSource("W_in\nextra", [1], new float[1])],
            metadata);
        var cases = new (byte[] Bytes, string What)[]
        {
            (flipped, "a bit flipped in the data"),
            (_bases[1][..random.Next(8, _bases[1].Length)], "truncated"),
            (File.ReadAllBytes(crafted), "a tensor named W_in\\nextra"),
        };
        foreach (var (bytes, what) in cases)
        {
            string path = Path.Combine(_folder, "resume.safetensors");
            File.WriteAllBytes(path, bytes);
            var result = SampleProcess.Run("train", ["--resume", path, "--steps", "10", "--backend", "reference", "--out", Path.Combine(_folder, "out"), "--quiet"]);
            Assert.True(result.ExitCode == 2, $"{what}: exit {result.ExitCode}: {result.Error}");
            Assert.True(result.Error.Trim().Split('\n') is [var line] && line.StartsWith($"error: --resume: {path}: ", StringComparison.Ordinal),
                $"{what}: {FuzzSettings.Quote(result.Error)}");
        }
    }
}
