using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace ToyModels.IO;

/// <summary>
/// A safetensors file opened for reading: <see cref="Open"/> reads and checks the header (JSON, no key given
/// twice, every entry well formed, the entries tiling the data exactly, a checksum present); <see cref="ReadAll"/>
/// then streams the data in pieces and checks the checksum at the end, so a file of any size is read with a
/// buffer of <see cref="SafeTensors.ChunkFloats"/> floats.
/// </summary>
internal sealed class SafeTensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L << 20;
    private readonly FileStream _stream;
    private readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>The tensors in the order of their data.</summary>
    public IReadOnlyList<TensorEntry> Entries { get; }

    private SafeTensorsFile(string path, FileStream stream, long dataStart, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<TensorEntry> entries)
    {
        Path = path; _stream = stream; _dataStart = dataStart; Metadata = metadata; Entries = entries;
    }

    public static SafeTensorsFile Open(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CheckpointException(FileError.Io, path, $"cannot open: {e.Message}", e);
        }
        try
        {
            var (metadata, entries, dataStart) = ReadHeader(path, stream);
            return new SafeTensorsFile(path, stream, dataStart, metadata, entries);
        }
        catch (IOException e)
        {
            stream.Dispose();
            throw new CheckpointException(FileError.Io, path, $"cannot read: {e.Message}", e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public void Dispose() => _stream.Dispose();

    public TensorEntry? Entry(string name) => Entries.FirstOrDefault(e => e.Name == name);

    /// <summary>Called with each piece of each tensor in file order: the tensor, the index of the piece's first element, the floats.</summary>
    public delegate void PieceVisitor(TensorEntry entry, long start, ReadOnlySpan<float> piece);

    /// <summary>
    /// Streams every tensor to <paramref name="visit"/> and then checks the checksum. A visitor that throws
    /// <see cref="CheckpointException"/> stops the visits but not the reading: when the checksum then fails, the
    /// file is damaged and that is the error; when it holds, the visitor's error is.
    /// </summary>
    public void ReadAll(PieceVisitor visit)
    {
        CheckpointException? first = null;
        try
        {
            _stream.Position = _dataStart;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long longest = Entries.Count == 0 ? 1 : Entries.Max(e => e.Length);
            using var floats = new StreamBuffer(longest);
            foreach (var entry in Entries)
                for (long start = 0; start < entry.Length; start += floats.Length)
                {
                    int count = (int)Math.Min(floats.Length, entry.Length - start);
                    var piece = floats.Span(count);
                    var bytes = MemoryMarshal.AsBytes(piece);
                    _stream.ReadExactly(bytes);
                    hash.AppendData(bytes);
                    LittleEndian.Floats(bytes, piece);
                    if (first is not null) continue;
                    try { visit(entry, start, piece); }
                    catch (CheckpointException e) { first = e; }
                }
            hash.AppendData(SafeTensors.Canonical(Entries.Select(e => (e.Name, e.Shape, (e.Begin, e.End))), Metadata));
            string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            string recorded = Metadata[SafeTensors.ChecksumKey];
            if (!string.Equals(actual, recorded, StringComparison.Ordinal))
                throw new CheckpointException(FileError.ChecksumMismatch, Path, $"checksum mismatch: the file records {recorded}, its contents hash to {actual}; it was altered or damaged");
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointException(FileError.Truncated, Path, "the file ended while its data was read (it shrank while open)", e);
        }
        catch (IOException e)
        {
            throw new CheckpointException(FileError.Io, Path, $"cannot read: {e.Message}", e);
        }
        if (first is not null) throw first;
    }

    private static (Dictionary<string, string>, List<TensorEntry>, long) ReadHeader(string path, FileStream stream)
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
        var entries = new List<TensorEntry>();
        try
        {
            using var document = JsonDocument.Parse(header);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(FileError.BadHeader, path, "the header is not a JSON object");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new CheckpointException(FileError.BadHeader, path, $"the header gives key '{property.Name}' twice; a reader would not know which holds");
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
        if (!metadata.ContainsKey(SafeTensors.ChecksumKey))
            throw new CheckpointException(FileError.BadHeader, path, $"__metadata__ has no {SafeTensors.ChecksumKey}");
        return (metadata, entries, 8 + (long)headerLength);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(FileError.BadHeader, path, "__metadata__ is not an object");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(FileError.BadHeader, path, $"__metadata__.{item.Name} is not a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw new CheckpointException(FileError.BadHeader, path, $"__metadata__ gives key '{item.Name}' twice; a reader would not know which holds");
        }
    }

    private static TensorEntry ReadEntry(string path, JsonProperty property)
    {
        string name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' is not an object");
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in value.EnumerateObject())
            if (!fields.Add(field.Name))
                throw new CheckpointException(FileError.BadHeader, path, $"tensor '{name}' gives key '{field.Name}' twice; a reader would not know which holds");
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
            count = size == 0 || count <= long.MaxValue / 4 / size ? count * size : long.MaxValue;
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has malformed data_offsets");
        if (count > long.MaxValue / 4 || end - begin != 4 * count)
            throw new CheckpointException(FileError.BadTensor, path, $"tensor '{name}' has {end - begin} bytes of data for {count} float32 elements");
        return new TensorEntry(name, shape.ToArray(), begin, end);
    }
}
