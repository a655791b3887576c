using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ToyModels.IO;

/// <summary>What is wrong with a file the engine was asked to read.</summary>
public enum FileError
{
    /// <summary>The file could not be opened or read.</summary>
    Io,
    /// <summary>The file ends before its header or its data does.</summary>
    Truncated,
    /// <summary>The header is not a safetensors header (length, JSON, fields).</summary>
    BadHeader,
    /// <summary>A tensor entry is malformed: dtype, shape, offsets, overlap or gaps.</summary>
    BadTensor,
    /// <summary>The checksum does not match the contents: the file was altered or damaged.</summary>
    ChecksumMismatch,
    /// <summary>The file is well formed but is not what was expected (other kind, version, config or shapes).</summary>
    Mismatch,
}

/// <summary>A file that cannot be loaded, with the reason in <see cref="Error"/> and the file in <see cref="Path"/>.</summary>
public sealed class CheckpointException(FileError error, string path, string message, Exception? inner = null)
    : Exception($"{path}: {message}", inner)
{
    public FileError Error { get; } = error;
    public string Path { get; } = path;
}

/// <summary>One float32 tensor of a safetensors file: row-major data and its shape.</summary>
public sealed record Tensor(string Name, int[] Shape, float[] Data);

/// <summary>A float32 tensor to write, given as consecutive segments so instance blocks need no copy.</summary>
public sealed record TensorSource(string Name, int[] Shape, IReadOnlyList<ReadOnlyMemory<float>> Segments)
{
    public TensorSource(string name, int[] shape, ReadOnlyMemory<float> data) : this(name, shape, [data]) { }
    public long Length => Segments.Sum(s => (long)s.Length);
}

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping each tensor name to dtype, shape and data_offsets (plus a string map "__metadata__"),
/// then the raw little-endian data. Python opens these files with safetensors.numpy.load_file.
/// </summary>
/// <remarks>
/// The engine adds one metadata entry, <c>checksum_sha256</c>: SHA-256 over the data bytes followed by a
/// canonical description of the header (per tensor, sorted by name: "name\ndtype\nshape\nbegin,end\n";
/// then per metadata entry except the checksum, sorted by key: "key\nvalue\n"), so a change to any byte
/// that means something is detected. Writes are atomic (<see cref="AtomicFile"/>).
/// </remarks>
public static class SafeTensors
{
    public const string ChecksumKey = "checksum_sha256";
    private const long MaxHeaderBytes = 100L << 20;
    private static readonly string Placeholder = new('#', 64);

    public static void Write(string path, IReadOnlyList<TensorSource> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!names.Add(t.Name) || t.Name == "__metadata__") throw new ArgumentException($"tensor name '{t.Name}' is used twice or reserved", nameof(tensors));
            if (t.Shape.Aggregate(1L, (a, d) => a * d) != t.Length) throw new ArgumentException($"tensor '{t.Name}': shape and data disagree", nameof(tensors));
        }
        var offsets = new (long Begin, long End)[tensors.Count];
        long position = 0;
        for (int k = 0; k < tensors.Count; k++)
        {
            offsets[k] = (position, position + 4 * tensors[k].Length);
            position = offsets[k].End;
        }

        var meta = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata) if (key != ChecksumKey) meta[key] = value;
        byte[] header = Header(tensors, offsets, meta, Placeholder);
        int placeholderAt = IndexOf(header, Encoding.ASCII.GetBytes(Placeholder));

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[1 << 20];
            foreach (var tensor in tensors)
                foreach (var segment in tensor.Segments)
                    WriteFloats(stream, hash, segment.Span, buffer);
            hash.AppendData(Canonical(tensors.Select((t, k) => (t.Name, t.Shape, offsets[k])), meta));
            byte[] digest = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(hash.GetHashAndReset()));
            stream.Position = 8 + placeholderAt;
            stream.Write(digest);
        });
    }

    /// <summary>Reads and checks the whole file: header, every tensor and the checksum.</summary>
    public static (IReadOnlyDictionary<string, string> Metadata, IReadOnlyDictionary<string, Tensor> Tensors) Read(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CheckpointException(FileError.Io, path, $"cannot open: {e.Message}", e);
        }
        using (stream)
        {
            try { return Read(path, stream); }
            catch (IOException e) { throw new CheckpointException(FileError.Io, path, $"cannot read: {e.Message}", e); }
        }
    }

    private static (IReadOnlyDictionary<string, string>, IReadOnlyDictionary<string, Tensor>) Read(string path, FileStream stream)
    {
        long fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8) throw new CheckpointException(FileError.Truncated, path, $"the file has {fileLength} bytes, fewer than the 8 of a safetensors header length");
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new CheckpointException(FileError.Truncated, path, $"the header claims {headerLength} bytes but only {fileLength - 8} follow");
        if (headerLength < 2 || (long)headerLength > MaxHeaderBytes)
            throw new CheckpointException(FileError.BadHeader, path, $"header length {headerLength} is outside 2 .. {MaxHeaderBytes}");
        byte[] header = new byte[headerLength];
        stream.ReadExactly(header);
        long payloadLength = fileLength - 8 - (long)headerLength;

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(string Name, int[] Shape, long Begin, long End)>();
        try
        {
            using var document = JsonDocument.Parse(header);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(FileError.BadHeader, path, "the header is not a JSON object");
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") ReadMetadata(path, property.Value, metadata);
                else entries.Add(ReadEntry(path, property));
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointException(FileError.BadHeader, path, $"the header is not valid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new CheckpointException(FileError.BadHeader, path, $"the header is not valid UTF-8 JSON: {e.Message}", e);
        }

        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        long expected = 0;
        foreach (var entry in entries)
        {
            if (entry.Begin != expected)
                throw new CheckpointException(FileError.BadTensor, path, $"tensor '{entry.Name}' starts at byte {entry.Begin}, expected {expected} (gap or overlap)");
            expected = entry.End;
        }
        if (expected != payloadLength)
            throw new CheckpointException(expected > payloadLength ? FileError.Truncated : FileError.BadTensor, path,
                $"the tensors cover {expected} bytes of data but the file holds {payloadLength}");

        if (!metadata.TryGetValue(ChecksumKey, out string? checksum))
            throw new CheckpointException(FileError.BadHeader, path, $"__metadata__ has no {ChecksumKey}");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            float[] data = new float[(entry.End - entry.Begin) / 4];
            var bytes = MemoryMarshal.AsBytes(data.AsSpan());
            stream.ReadExactly(bytes);
            hash.AppendData(bytes);
            if (!BitConverter.IsLittleEndian)
                for (int e = 0; e < data.Length; e++) data[e] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(4 * e, 4));
            tensors[entry.Name] = new Tensor(entry.Name, entry.Shape, data);
        }
        var meta = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata) if (key != ChecksumKey) meta[key] = value;
        hash.AppendData(Canonical(entries.Select(e => (e.Name, e.Shape, (e.Begin, e.End))), meta));
        string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (!string.Equals(actual, checksum, StringComparison.Ordinal))
            throw new CheckpointException(FileError.ChecksumMismatch, path, $"checksum mismatch: the file records {checksum}, its contents hash to {actual}; it was altered or damaged");
        return (metadata, tensors);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(FileError.BadHeader, path, "__metadata__ is not an object");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(FileError.BadHeader, path, $"__metadata__.{item.Name} is not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static (string, int[], long, long) ReadEntry(string path, JsonProperty property)
    {
        string name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' is not an object");
        if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has no dtype");
        if (dtype.GetString() != "F32")
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has dtype {dtype.GetString()}; only F32 is read");
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has no shape");
        var shape = new List<int>();
        long count = 1;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int size) || size < 0)
                throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has a shape entry that is not a size");
            shape.Add(size);
            count *= size;
            if (count > int.MaxValue) throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has more elements than this engine reads");
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has malformed data_offsets");
        if (end - begin != 4 * count)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has {end - begin} bytes of data for {count} float32 elements");
        return (name, shape.ToArray(), begin, end);
    }

    private static byte[] Header(IReadOnlyList<TensorSource> tensors, (long Begin, long End)[] offsets, SortedDictionary<string, string> meta, string checksum)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString(ChecksumKey, checksum);
            foreach (var (key, value) in meta) json.WriteString(key, value);
            json.WriteEndObject();
            for (int k = 0; k < tensors.Count; k++)
            {
                json.WriteStartObject(tensors[k].Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in tensors[k].Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offsets[k].Begin);
                json.WriteNumberValue(offsets[k].End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data starts 8-byte aligned, as the safetensors writer does.
        while ((buffer.Length + 8) % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static byte[] Canonical(IEnumerable<(string Name, int[] Shape, (long Begin, long End) Offsets)> tensors, SortedDictionary<string, string> meta)
    {
        var text = new StringBuilder();
        foreach (var (name, shape, (begin, end)) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            text.Append(name).Append("\nF32\n").Append(string.Join(",", shape)).Append('\n').Append(begin).Append(',').Append(end).Append('\n');
        foreach (var (key, value) in meta)
            text.Append(key).Append('\n').Append(value).Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static void WriteFloats(Stream stream, IncrementalHash hash, ReadOnlySpan<float> values, byte[] buffer)
    {
        if (BitConverter.IsLittleEndian)
        {
            var bytes = MemoryMarshal.AsBytes(values);
            stream.Write(bytes);
            hash.AppendData(bytes);
            return;
        }
        for (int start = 0; start < values.Length; start += buffer.Length / 4)
        {
            int count = Math.Min(buffer.Length / 4, values.Length - start);
            for (int e = 0; e < count; e++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * e, 4), values[start + e]);
            stream.Write(buffer, 0, 4 * count);
            hash.AppendData(buffer, 0, 4 * count);
        }
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        int at = haystack.AsSpan().IndexOf(needle);
        if (at < 0 || haystack.AsSpan(at + 1).IndexOf(needle) >= 0) throw new InvalidOperationException("checksum placeholder not unique");
        return at;
    }
}
