using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ToyModels.IO;

/// <summary>One float32 tensor of a safetensors file: row-major data and its shape.</summary>
internal sealed record Tensor(string Name, int[] Shape, float[] Data);

/// <summary>Copies elements [start, start + destination.Length) of a tensor, row-major, into <paramref name="destination"/>.</summary>
internal delegate void TensorReader(long start, Span<float> destination);

/// <summary>A float32 tensor to write, read a piece at a time, so a tensor of any size streams from where it lives.</summary>
internal sealed record TensorSource(string Name, int[] Shape, long Length, TensorReader Read)
{
    public TensorSource(string name, int[] shape, ReadOnlyMemory<float> data)
        : this(name, shape, data.Length, (start, destination) => data.Span.Slice((int)start, destination.Length).CopyTo(destination)) { }
}

/// <summary>A tensor's entry in a safetensors header: name, shape, elements and where its bytes lie in the data.</summary>
internal sealed record TensorEntry(string Name, int[] Shape, long Begin, long End)
{
    public long Length => (End - Begin) / 4;
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
/// that means something is detected. Writes are atomic (<see cref="AtomicFile"/>). Data streams through a buffer
/// of <see cref="ChunkFloats"/> floats both ways, with 64-bit offsets: a tensor may be larger than 2 GiB.
/// </remarks>
internal static class SafeTensors
{
    public const string ChecksumKey = "checksum_sha256";
    /// <summary>Floats per piece of data written or read (4 MiB).</summary>
    public const int ChunkFloats = 1 << 20;
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
            using var floats = new StreamBuffer(tensors.Count == 0 ? 1 : tensors.Max(t => t.Length));
            var bytes = BitConverter.IsLittleEndian ? [] : new byte[4 * floats.Length];
            foreach (var tensor in tensors)
                for (long start = 0; start < tensor.Length; start += floats.Length)
                {
                    int count = (int)Math.Min(floats.Length, tensor.Length - start);
                    tensor.Read(start, floats.Span(count));
                    var piece = LittleEndian.Bytes(floats.Span(count), bytes);
                    stream.Write(piece);
                    hash.AppendData(piece);
                }
            hash.AppendData(Canonical(tensors.Select((t, k) => (t.Name, t.Shape, offsets[k])), meta));
            byte[] digest = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(hash.GetHashAndReset()));
            stream.Position = 8 + placeholderAt;
            stream.Write(digest);
        });
    }

    /// <summary>Reads and checks the whole file into memory: header, every tensor and the checksum (files of tensors that fit arrays).</summary>
    public static (IReadOnlyDictionary<string, string> Metadata, IReadOnlyDictionary<string, Tensor> Tensors) Read(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in file.Entries)
        {
            if (entry.Length > Array.MaxLength)
                throw new CheckpointException(FileError.BadTensor, path, $"tensor '{entry.Name}' has {entry.Length} elements, more than one array holds; stream it instead");
            tensors[entry.Name] = new Tensor(entry.Name, entry.Shape, new float[entry.Length]);
        }
        file.ReadAll((entry, start, piece) => piece.CopyTo(tensors[entry.Name].Data.AsSpan((int)start)));
        return (file.Metadata, tensors);
    }

    internal static byte[] Canonical(IEnumerable<(string Name, int[] Shape, (long Begin, long End) Offsets)> tensors, IEnumerable<KeyValuePair<string, string>> meta)
    {
        var text = new StringBuilder();
        foreach (var (name, shape, (begin, end)) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            text.Append(name).Append("\nF32\n").Append(string.Join(",", shape)).Append('\n').Append(begin).Append(',').Append(end).Append('\n');
        foreach (var (key, value) in meta.Where(m => m.Key != ChecksumKey).OrderBy(m => m.Key, StringComparer.Ordinal))
            text.Append(key).Append('\n').Append(value).Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
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

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        int at = haystack.AsSpan().IndexOf(needle);
        if (at < 0 || haystack.AsSpan(at + 1).IndexOf(needle) >= 0) throw new InvalidOperationException("checksum placeholder not unique");
        return at;
    }
}

/// <summary>Floats as little-endian bytes and back, whatever the machine's byte order.</summary>
internal static class LittleEndian
{
    /// <summary>The bytes of <paramref name="values"/>: the values themselves on little-endian machines, else converted into <paramref name="buffer"/>.</summary>
    public static ReadOnlySpan<byte> Bytes(ReadOnlySpan<float> values, byte[] buffer)
    {
        if (BitConverter.IsLittleEndian) return MemoryMarshal.AsBytes(values);
        for (int e = 0; e < values.Length; e++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * e, 4), values[e]);
        return buffer.AsSpan(0, 4 * values.Length);
    }

    /// <summary>Floats from little-endian bytes, in place on little-endian machines.</summary>
    public static void Floats(Span<byte> bytes, Span<float> values)
    {
        if (BitConverter.IsLittleEndian) return; // values is bytes itself
        for (int e = 0; e < values.Length; e++) values[e] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(4 * e, 4));
    }
}
