using System.Text;

namespace ToyModels.Sweeps;

/// <summary>
/// results.csv (or one shard's file): a header, then one row per finished run, appended whole.
/// </summary>
/// <remarks>
/// <para>Crash safety: a row is written with one write call and flushed to disk before the next run is
/// recorded, so killing the process (kill -9) at any moment leaves every earlier row whole; at worst the
/// last line is torn (no newline at its end). Opening the file for appending drops such a torn line (the
/// run it belonged to runs again), and a run already present is never appended twice.</para>
/// <para>One writer per file: the writer holds an exclusive lock on "FILE.lock" for as long as it is open,
/// so two processes started on the same shard refuse instead of interleaving rows.</para>
/// </remarks>
public sealed class ResultsFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly FileStream _lock;
    private readonly Dictionary<string, SweepResult> _rows;

    /// <summary>The results file.</summary>
    public string Path { get; }
    /// <summary>Bytes of a torn last line dropped on open (0 when the file was whole).</summary>
    public long DroppedBytes { get; }
    /// <summary>The rows in the file, by run id: those read on open and those appended since.</summary>
    public IReadOnlyDictionary<string, SweepResult> Rows => _rows;

    private ResultsFile(string path, FileStream stream, FileStream lockStream, Dictionary<string, SweepResult> rows, long dropped)
    {
        Path = path; _stream = stream; _lock = lockStream; _rows = rows; DroppedBytes = dropped;
    }

    /// <summary>Opens (creating) a results file for appending: takes the lock, drops a torn last line, reads the rows.</summary>
    public static ResultsFile Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        FileStream lockStream;
        try { lockStream = new FileStream(full + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e)
        {
            throw new IOException($"{path} is being written by another process (its lock {path}.lock is held); run one process per shard", e);
        }
        FileStream? stream = null;
        try
        {
            stream = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            int end = Array.LastIndexOf(bytes, (byte)'\n') + 1; // everything after the last newline is a torn line
            long dropped = bytes.Length - end;
            var rows = ParseRows(path, Encoding.UTF8.GetString(bytes, 0, end), out bool hasHeader);
            if (dropped > 0 || !hasHeader)
            {
                stream.SetLength(end);
                if (!hasHeader)
                {
                    stream.SetLength(0);
                    stream.Write(Encoding.UTF8.GetBytes(SweepResult.Header + "\n"));
                }
                stream.Flush(flushToDisk: true);
            }
            stream.Seek(0, SeekOrigin.End);
            return new ResultsFile(path, stream, lockStream, rows, dropped);
        }
        catch
        {
            stream?.Dispose();
            lockStream.Dispose();
            throw;
        }
    }

    /// <summary>Reads a results file without writing or locking it (for merging); a torn last line is ignored.</summary>
    public static IReadOnlyList<SweepResult> Read(string path)
    {
        byte[] bytes;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        int end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        return ParseRows(path, Encoding.UTF8.GetString(bytes, 0, end), out _).Values.ToList();
    }

    private static Dictionary<string, SweepResult> ParseRows(string path, string text, out bool hasHeader)
    {
        var rows = new Dictionary<string, SweepResult>();
        var lines = text.Split('\n');
        hasHeader = lines.Length > 1; // text ends with '\n', so a whole header gives at least two parts
        if (!hasHeader) return rows;
        if (lines[0] != SweepResult.Header)
            throw new InvalidDataException($"{path}: the first line is not the results header of this engine ({SweepResult.Header})");
        for (int k = 1; k < lines.Length - 1; k++)
        {
            SweepResult row;
            try { row = SweepResult.Parse(lines[k]); }
            catch (FormatException e) { throw new InvalidDataException($"{path}, line {k + 1}: a corrupt row: {e.Message}", e); }
            if (!rows.TryAdd(row.RunId, row)) throw new InvalidDataException($"{path}, line {k + 1}: run {row.RunId} appears twice");
        }
        return rows;
    }

    /// <summary>Appends one whole row and flushes it to disk. A run already in the file is refused.</summary>
    public void Append(SweepResult row)
    {
        if (_rows.ContainsKey(row.RunId)) throw new InvalidOperationException($"run {row.RunId} is already in {Path}");
        _stream.Write(Encoding.UTF8.GetBytes(row.ToCsv() + "\n"));
        _stream.Flush(flushToDisk: true);
        _rows[row.RunId] = row;
    }

    /// <summary>Closes the file and releases its lock.</summary>
    public void Dispose()
    {
        _stream.Dispose();
        _lock.Dispose();
    }
}
