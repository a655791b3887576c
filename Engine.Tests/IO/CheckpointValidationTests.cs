using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Tests.Support;
using ToyModels.Training;

namespace ToyModels.Tests.IO;

/// <summary>
/// Checksum-valid checkpoints that no healthy run writes: each is refused on load with a message that says what is
/// wrong with the file. Every file here passes the checksum (it is written by the safetensors writer, or its
/// checksum is unaffected), so only the checks of its contents can refuse it.
/// </summary>
public class CheckpointValidationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-validation-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A checkpoint of 2 instances (n 11, m 4, untied, bias, importance decay:0.9, Adam) after 7 steps.</summary>
    private string Saved()
    {
        var config = ParityCases.Make(11, 4, 6, false, true, 0.3, Importance.Decay(0.9), 2);
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0 });
        trainer.Run(7);
        string path = Path.Combine(_folder, $"model-{Guid.NewGuid():N}.safetensors");
        trainer.Save(path);
        return path;
    }

    /// <summary>
    /// A well-formed, checksum-valid copy of a checkpoint with tensors and metadata changed; weights_sha256 is
    /// recomputed from the changed parameters, so the file is consistent in everything but the change.
    /// </summary>
    private string Crafted(Action<Dictionary<string, string>, Dictionary<string, (int[] Shape, float[] Data)>> change)
    {
        var (metadata, tensors) = SafeTensors.Read(Saved());
        var meta = new Dictionary<string, string>(metadata);
        var data = tensors.ToDictionary(t => t.Key, t => (t.Value.Shape, t.Value.Data));
        string weights = meta["weights_sha256"];
        change(meta, data);
        if (data.ContainsKey("W_in") && data.ContainsKey("W_out") && data.ContainsKey("b") && meta.GetValueOrDefault("weights_sha256") == weights)
            meta["weights_sha256"] = Weights(data);
        string path = Path.Combine(_folder, $"crafted-{Guid.NewGuid():N}.safetensors");
        SafeTensors.Write(path, data.Select(t => new TensorSource(t.Key, t.Value.Shape, t.Value.Data)).ToList(), meta);
        return path;
    }

    /// <summary>weights_sha256 of the tensors: per instance W_in, W_out, b.</summary>
    private static string Weights(Dictionary<string, (int[] Shape, float[] Data)> data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int k = data["W_in"].Shape[0];
        foreach (int s in Enumerable.Range(0, k))
            foreach (var name in new[] { "W_in", "W_out", "b" })
            {
                var all = data[name].Data;
                int per = all.Length / k;
                foreach (float v in all.AsSpan(s * per, per)) hash.AppendData(BitConverter.GetBytes(v));
            }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static CheckpointException Refused(string path, FileError error, params string[] says)
    {
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path));
        Assert.True(error == e.Error, $"{e.Error}: {e.Message}");
        foreach (string fragment in says) Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain("--lr", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    public static IEnumerable<object[]> NonFiniteValues =>
    [
        ["W_in", 5, float.NaN, "parameter W_in[0][0][5] is NaN"],
        ["b", 13, float.PositiveInfinity, "parameter b[1][2] is Infinity"],
        ["optimizer.exp_avg.W_out", 3, float.NegativeInfinity, "optimizer state optimizer.exp_avg.W_out[0][0][3] is -Infinity"],
        ["optimizer.exp_avg_sq.W_in", 50, float.NaN, "optimizer state optimizer.exp_avg_sq.W_in[1][0][6] is NaN"],
        ["optimizer.exp_avg_sq.b", 0, float.PositiveInfinity, "optimizer.exp_avg_sq.b[0][0] is Infinity"],
        ["optimizer.exp_avg_sq.W_out", 7, -1f, "optimizer.exp_avg_sq.W_out[0][1][3] is -1: a running mean of squared gradients is never negative"],
    ];

    [Theory]
    [MemberData(nameof(NonFiniteValues))]
    public void Values_no_training_writes_are_refused_naming_the_element(string tensor, int element, float value, string says)
    {
        string path = Crafted((_, t) => t[tensor].Data[element] = value);
        Refused(path, FileError.BadValue, says, "the file is damaged or was not written by this engine");
    }

    [Fact]
    public void Non_finite_importance_is_refused()
    {
        string path = Crafted((_, t) => t["importance"].Data[14] = float.NaN);
        Refused(path, FileError.BadValue, "importance[1][3] is NaN", "importance is finite");
    }

    [Fact]
    public void Importance_the_config_contradicts_is_refused()
    {
        string path = Crafted((_, t) => Array.Fill(t["importance"].Data, 1f));
        Refused(path, FileError.BadValue, "importance[0][1] is 1", "decay:0.9", "contradicts itself");
    }

    [Theory]
    [InlineData("importance")]
    [InlineData("W_out")]
    [InlineData("optimizer.exp_avg_sq.b")]
    public void A_missing_tensor_is_named(string tensor)
    {
        string path = Crafted((_, t) => t.Remove(tensor));
        Refused(path, FileError.Mismatch, $"tensor '{tensor}' is missing");
    }

    [Theory]
    [InlineData("importance", new[] { 2, 10 })]
    [InlineData("b", new[] { 1, 22 })]
    [InlineData("W_in", new[] { 2, 11, 4 })]
    public void A_tensor_of_the_wrong_shape_is_named(string tensor, int[] shape)
    {
        string path = Crafted((_, t) => t[tensor] = (shape, new float[shape.Aggregate(1, (a, d) => a * d)]));
        Refused(path, FileError.Mismatch, $"tensor '{tensor}' has shape [{string.Join(", ", shape)}]");
    }

    [Theory]
    [InlineData(null, "__metadata__ has no 'seeds'")]
    [InlineData("not json", "seeds 'not json' is not a JSON array of unsigned integers (the stored config's are [1234,1235])")]
    [InlineData("[1234,-1]", "is not a JSON array of unsigned integers")]
    [InlineData("{\"a\":1}", "is not a JSON array of unsigned integers")]
    [InlineData("[1234]", "seeds [1234] disagree with the stored config's instance seeds [1234,1235]")]
    [InlineData("[5,6]", "seeds [5,6] disagree")]
    public void Seeds_must_be_the_configs(string? seeds, string says)
    {
        string path = Crafted((m, _) =>
        {
            if (seeds is null) m.Remove("seeds");
            else m["seeds"] = seeds;
        });
        Refused(path, FileError.Mismatch, says);
    }

    [Theory]
    [InlineData(null, "__metadata__ has no 'weights_sha256'")]
    [InlineData("abc", "weights_sha256 'abc' is not a SHA-256 in lowercase hex")]
    public void The_weights_hash_must_be_present_and_well_formed(string? hash, string says)
    {
        string path = Crafted((m, _) =>
        {
            if (hash is null) m.Remove("weights_sha256");
            else m["weights_sha256"] = hash;
        });
        Refused(path, FileError.Mismatch, says);
    }

    /// <summary>
    /// A header that gives a key twice: JSON readers differ on which one holds (this one took the last), so the file
    /// means two things. Each insertion leaves the checksum valid: it covers the header as parsed, and the inserted
    /// key comes first, so the value a last-wins reader keeps is the one the checksum covers.
    /// </summary>
    [Theory]
    [InlineData("\"__metadata__\":{", "\"step\":\"100000\",", "__metadata__ gives key 'step' twice")]
    [InlineData("\"W_out\":{", "\"dtype\":\"F64\",", "tensor 'W_out' gives key 'dtype' twice")]
    public void A_header_key_given_twice_is_refused(string after, string insert, string says)
    {
        string path = Saved();
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        int at = header.IndexOf(after, StringComparison.Ordinal);
        Assert.True(at >= 0, $"no {after} in the header");
        string changed = header.Insert(at + after.Length, insert);
        WriteWithHeader(path, bytes, headerLength, changed);
        Refused(path, FileError.BadHeader, says, "a reader would not know which holds");
    }

    [Fact]
    public void A_tensor_given_twice_is_refused()
    {
        string path = Saved();
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string header = Encoding.UTF8.GetString(bytes, 8, headerLength).TrimEnd();
        int start = header.IndexOf("\"b\":{", StringComparison.Ordinal), end = header.IndexOf('}', start) + 1;
        string changed = header[..^1] + "," + header[start..end] + "}";
        WriteWithHeader(path, bytes, headerLength, changed);
        Refused(path, FileError.BadHeader, "the header gives key 'b' twice");
    }

    private static void WriteWithHeader(string path, byte[] bytes, int oldLength, string header)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + bytes.Length - 8 - oldLength];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        bytes.AsSpan(8 + oldLength).CopyTo(file.AsSpan(8 + json.Length));
        File.WriteAllBytes(path, file);
    }

    [Fact]
    public void A_damaged_file_is_called_damaged_even_where_the_damage_makes_a_bad_value()
    {
        // A flip that turns a parameter into NaN also breaks the checksum: the checksum is the diagnosis.
        string path = Saved();
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + headerLength), float.NaN);
        File.WriteAllBytes(path, bytes);
        Refused(path, FileError.ChecksumMismatch, "altered or damaged");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Train_refuses_to_resume_from_a_bad_file_with_one_line_that_says_what_is_wrong()
    {
        string path = Crafted((_, t) => t["optimizer.exp_avg_sq.W_in"].Data[3] = float.NaN);
        var result = SampleProcess.Run("train", ["--resume", path, "--steps", "20", "--backend", "reference", "--out", Path.Combine(_folder, "resumed")]);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Error}");
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains("--resume", result.Error);
        Assert.Contains("optimizer.exp_avg_sq.W_in[0][0][3] is NaN", result.Error);
        Assert.DoesNotContain("--lr", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }
}
