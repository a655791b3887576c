using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Training;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.IO;

public class CheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Saved(out Checkpoint original, bool tied = false, OptimizerSettings? optimizer = null)
    {
        var config = ParityCases.Make(11, 4, 6, tied, true, 0.3, Importance.Decay(0.9), 2, optimizer);
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 0 });
        trainer.Run(7);
        original = trainer.Snapshot(new Dictionary<string, string> { ["note"] = "hello" });
        string path = Path.Combine(_folder, $"model-{Guid.NewGuid():N}.safetensors");
        original.Save(path);
        return path;
    }

    [Theory]
    [InlineData(false, OptimizerKind.Adam)]
    [InlineData(true, OptimizerKind.AdamW)]
    [InlineData(false, OptimizerKind.Sgd)]
    public void Round_trip_keeps_every_bit(bool tied, OptimizerKind kind)
    {
        var optimizer = new OptimizerSettings { Kind = kind, Momentum = kind == OptimizerKind.Sgd ? 0.5 : 0 };
        string path = Saved(out var original, tied, optimizer);
        var loaded = Checkpoint.Load(path);
        Assert.Equal(ConfigJson.Write(original.Config), ConfigJson.Write(loaded.Config));
        Assert.Equal(7, loaded.Step);
        Bits.Equal(original.Parameters, loaded.Parameters, "parameters");
        Bits.Equal(original.OptimizerState, loaded.OptimizerState, "optimizer state");
        Assert.Equal("hello", loaded.Metadata["note"]);
        Assert.Equal(WeightsHash.Of(original.Parameters), loaded.Metadata["weights_sha256"]);
    }

    [Fact]
    public void The_file_is_plain_safetensors()
    {
        // The layout a Python reader relies on: u64 header length, JSON header, 8-byte aligned data,
        // tensors with F32 dtype, [k, ...] shapes and contiguous offsets covering the data exactly.
        string path = Saved(out var original);
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        var w = header.RootElement.GetProperty("W_in");
        Assert.Equal("F32", w.GetProperty("dtype").GetString());
        Assert.Equal([2, 4, 11], w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        long begin = w.GetProperty("data_offsets")[0].GetInt64();
        var first = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(8 + headerLength + begin)));
        Assert.Equal(original.Parameters[0], first);
        var names = header.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "__metadata__", "W_in", "W_out", "b", "importance", "optimizer.exp_avg.W_in", "optimizer.exp_avg_sq.b" }, names);
        long covered = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Sum(p => p.Value.GetProperty("data_offsets")[1].GetInt64() - p.Value.GetProperty("data_offsets")[0].GetInt64());
        Assert.Equal(bytes.Length - 8 - headerLength, covered);
    }

    [Fact]
    public void Every_truncation_is_rejected_as_truncated_or_malformed()
    {
        string path = Saved(out _);
        byte[] bytes = File.ReadAllBytes(path);
        string cut = Path.Combine(_folder, "cut.safetensors");
        var lengths = Enumerable.Range(0, 64).Concat(Enumerable.Range(0, 200).Select(k => (int)((long)bytes.Length * k / 200))).Append(bytes.Length - 1).Distinct();
        foreach (int length in lengths)
        {
            File.WriteAllBytes(cut, bytes[..length]);
            var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(cut));
            Assert.Contains(error.Error, new[] { FileError.Truncated, FileError.BadHeader, FileError.BadTensor });
        }
    }

    [Fact]
    public void Every_bit_flip_is_detected()
    {
        // A flip anywhere but in the header's padding spaces must make the load fail with a CheckpointException;
        // a flip in padding may leave the file valid, and must then load the same bits.
        string path = Saved(out var original);
        byte[] bytes = File.ReadAllBytes(path);
        string flipped = Path.Combine(_folder, "flipped.safetensors");
        var random = new Random(5);
        var positions = Enumerable.Range(0, 64).Concat(Enumerable.Range(0, 400).Select(_ => random.Next(bytes.Length)));
        int detected = 0;
        foreach (int position in positions)
        {
            byte[] copy = (byte[])bytes.Clone();
            copy[position] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(flipped, copy);
            try
            {
                var loaded = Checkpoint.Load(flipped);
                Bits.Equal(original.Parameters, loaded.Parameters, $"flip at byte {position} went unnoticed and changed parameters");
                Bits.Equal(original.OptimizerState, loaded.OptimizerState, $"flip at byte {position} went unnoticed and changed state");
                Assert.Equal(original.Step, loaded.Step);
            }
            catch (CheckpointException)
            {
                detected++;
            }
        }
        Assert.True(detected > 400, $"only {detected} of 464 flips were detected");
    }

    [Fact]
    public void Mismatched_files_say_what_is_wrong()
    {
        string path = Path.Combine(_folder, "other.safetensors");
        SafeTensors.Write(path, [new TensorSource("weights", [2], new float[] { 1, 2 })], new Dictionary<string, string> { ["format"] = "pt" });
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path));
        Assert.Equal(FileError.Mismatch, error.Error);
        Assert.Contains("format", error.Message);

        File.WriteAllText(path, "this is not a checkpoint at all, just text");
        Assert.Equal(FileError.Truncated, Assert.Throws<CheckpointException>(() => Checkpoint.Load(path)).Error);

        var missing = Assert.Throws<CheckpointException>(() => Checkpoint.Load(Path.Combine(_folder, "absent.safetensors")));
        Assert.Equal(FileError.Io, missing.Error);
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_and_no_debris()
    {
        string path = Saved(out var original);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new InvalidOperationException("disk full, say");
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(_folder).Select(Path.GetFileName));
        Bits.Equal(original.Parameters, Checkpoint.Load(path).Parameters, "parameters after a failed overwrite");
    }

    /// <summary>
    /// A checkpoint streams straight off a backend and back into a fresh one, through pieces that cross tensors,
    /// instances and optimizer slots (2.5 million parameters: more than one piece of 2^20 floats per instance).
    /// </summary>
    [Fact]
    public void A_checkpoint_streams_from_a_backend_into_a_fresh_one_bit_for_bit()
    {
        var config = ParityCases.Make(700, 600, 8, false, true, 0.05, Importance.Decay(0.999), 3);
        using var source = BackendFactory.Create(BackendKind.Simd, config);
        var trainer = new Trainer(source, new TrainerOptions { EvalSamples = 0 });
        trainer.Run(2);
        string path = Path.Combine(_folder, "streamed.safetensors");
        string hash = trainer.Save(path);
        Assert.Equal(WeightsHash.Of(source), hash);

        using var reader = CheckpointReader.Open(path);
        Assert.Equal(2, reader.Step);
        using var target = BackendFactory.Create(BackendKind.Simd, reader.Config);
        reader.ReadInto(target);
        var expected = new float[config.Layout.Total];
        var actual = new float[config.Layout.Total];
        source.GetParameters(expected);
        target.GetParameters(actual);
        Bits.Equal(expected, actual, "parameters");
        expected = new float[config.OptimizerStateLength()];
        actual = new float[expected.Length];
        source.GetOptimizerState(expected);
        target.GetOptimizerState(actual);
        Bits.Equal(expected, actual, "optimizer state");
        Bits.Equal(expected, Checkpoint.Load(path).OptimizerState, "optimizer state loaded into arrays");
    }

    /// <summary>
    /// A tensor of more than 2 GiB, and one after it at an offset past 2^31: read with 64-bit offsets, in pieces. The
    /// big tensor is a hole of a sparse file (zeros that take no disk), so the test writes almost nothing.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Tensors_past_2_GiB_stream_with_64_bit_offsets()
    {
        long big = (1L << 29) + 2, bigBytes = 4 * big;
        float[] after = [1.5f, -2.5f];
        var entries = new[] { ("big", new[] { (int)big }, (0L, bigBytes)), ("after", new[] { 2 }, (bigBytes, bigBytes + 8)) };
        var meta = new Dictionary<string, string> { ["format"] = "test" };
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var zeros = new byte[1 << 22];
        for (long done = 0; done < bigBytes; done += zeros.Length) hash.AppendData(zeros, 0, (int)Math.Min(zeros.Length, bigBytes - done));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(after.AsSpan()));
        hash.AppendData(SafeTensors.Canonical(entries, meta));
        meta[SafeTensors.ChecksumKey] = Convert.ToHexStringLower(hash.GetHashAndReset());
        string json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["__metadata__"] = meta,
            ["big"] = new { dtype = "F32", shape = new[] { big }, data_offsets = new[] { 0, bigBytes } },
            ["after"] = new { dtype = "F32", shape = new[] { 2 }, data_offsets = new[] { bigBytes, bigBytes + 8 } },
        });
        byte[] header = Encoding.UTF8.GetBytes(json);
        string path = Path.Combine(_folder, "big.safetensors");
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            stream.SetLength(8 + header.Length + bigBytes); // a hole: zeros without disk
            stream.Position = 8 + header.Length + bigBytes;
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(after.AsSpan()));
        }
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(bigBytes, file.Entry("after")!.Begin);
        long seen = 0, nonzero = 0;
        float[] last = [];
        file.ReadAll((entry, start, piece) =>
        {
            if (entry.Name == "big")
            {
                Assert.Equal(seen, start);
                seen += piece.Length;
                foreach (float v in piece) if (v != 0) nonzero++;
            }
            else last = piece.ToArray();
        });
        Assert.Equal(big, seen);
        Assert.Equal(0, nonzero);
        Assert.Equal(after, last);
    }

    [Fact]
    public void Gradient_dump_holds_the_tensors_the_autograd_check_reads()
    {
        var config = ParityCases.Make(9, 4, 5, false, true, 0.4, Importance.Uniform, 1);
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        string path = Path.Combine(_folder, "grads.safetensors");
        GradientDump.Write(path, backend);
        var (_, tensors) = SafeTensors.Read(path);
        Assert.Equal(new[] { "W_in", "W_out", "b", "x", "importance", "loss", "grad.W_in", "grad.W_out", "grad.b" }.Order(), tensors.Keys.Order());
        Assert.Equal([5, 9], tensors["x"].Shape);
        Assert.Equal([4, 9], tensors["grad.W_in"].Shape);
    }
}
