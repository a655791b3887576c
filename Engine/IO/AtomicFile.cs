using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace ToyModels.IO;

/// <summary>
/// Writes a file so that readers see either the old file or the whole new one, never a part:
/// a temporary file in the same folder, flushed to disk, then renamed over the target.
/// </summary>
/// <remarks>
/// The temporary file is named <c>.NAME.HOST.PID.GUID.tmp</c>. A process killed while writing leaves
/// its temporary file behind; a process's first successful write into a folder removes the temporary files
/// there of this host whose process is gone (a later write of the same target, the next run, is such a
/// write). Once per folder and process, so that a folder of many files is not listed at every write.
/// Another host's are never touched: on a shared file system (a sweep's shards) its writer may still be
/// running, and its process ids mean nothing here.
/// </remarks>
public static class AtomicFile
{
    private const string Suffix = ".tmp";
    private static readonly ConcurrentDictionary<string, bool> Swept = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates <paramref name="path"/>'s folder if needed, lets <paramref name="write"/> fill a temporary file there,
    /// flushes it to disk and renames it over <paramref name="path"/>. If <paramref name="write"/> throws, the
    /// temporary file is deleted, the target is left as it was, and the exception propagates.
    /// </summary>
    /// <exception cref="IOException">The folder or file cannot be created, written or renamed.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder does not accept new files.</exception>
    public static void Write(string path, Action<FileStream> write)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(folder);
        string temporary = TemporaryName(full);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        if (Swept.TryAdd(folder, true)) RemoveStale(folder);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark, atomically (<see cref="Write"/>).</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
            writer.Write(text);
        });

    /// <summary>
    /// Why <paramref name="path"/> cannot be written by <see cref="Write"/>, or null when it can: checked by
    /// creating its folder and a temporary file there, as a write would, so that a program refuses an unusable
    /// output before its work rather than after.
    /// </summary>
    public static string? Unwritable(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) return "an empty path";
        try
        {
            string full = Path.GetFullPath(path);
            if (Directory.Exists(full)) return "a folder, not a file";
            string folder = Path.GetDirectoryName(full) ?? ".";
            if (FileInTheWay(folder) is { } file) return $"{file} is a file, not a folder";
            Directory.CreateDirectory(folder);
            string probe = TemporaryName(full);
            new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose();
            File.Delete(probe);
            return null;
        }
        catch (UnauthorizedAccessException) { return "permission denied"; }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException) { return e.Message; }
    }

    /// <summary>
    /// Why <paramref name="path"/> cannot serve as an output folder, or null when it can; creates the folder
    /// and a temporary file in it to find out.
    /// </summary>
    public static string? UnwritableFolder(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) return "an empty path";
        try
        {
            string full = Path.GetFullPath(path);
            if (File.Exists(full)) return "a file, not a folder";
            if (FileInTheWay(full) is { } file) return $"{file} is a file, not a folder";
            Directory.CreateDirectory(full);
        }
        catch (UnauthorizedAccessException) { return "permission denied"; }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException) { return e.Message; }
        return Unwritable(Path.Combine(path, "probe"));
    }

    /// <summary>The nearest existing ancestor of <paramref name="folder"/> (itself included) when it is a file, else null.</summary>
    private static string? FileInTheWay(string folder)
    {
        for (string? f = folder; f is not null; f = Path.GetDirectoryName(f))
        {
            if (File.Exists(f)) return f;
            if (Directory.Exists(f)) return null;
        }
        return null;
    }

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdef");

    private static string Host { get; } = new(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '-').ToArray());

    /// <summary>.NAME.HOST.PID.GUID.tmp next to <paramref name="full"/>; by default, this host and process.</summary>
    internal static string TemporaryName(string full, int? pid = null, string? host = null) => Path.Combine(Path.GetDirectoryName(full) ?? ".",
        $".{Path.GetFileName(full)}.{host ?? Host}.{(pid ?? Environment.ProcessId).ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}{Suffix}");

    /// <summary>Deletes the temporary files in <paramref name="folder"/> of this host's writes whose process has ended. Best effort.</summary>
    private static void RemoveStale(string folder)
    {
        string host = $".{Host}.";
        try
        {
            foreach (string file in Directory.EnumerateFiles(folder, ".*" + Suffix))
            {
                // .NAME.HOST.PID.GUID.tmp, read from the right: NAME may hold dots, HOST and PID may not.
                string name = Path.GetFileName(file)[..^Suffix.Length];
                int guidAt = name.LastIndexOf('.');
                int pidAt = guidAt > 0 ? name.LastIndexOf('.', guidAt - 1) : -1;
                if (pidAt < 0) continue;
                var guid = name.AsSpan(guidAt + 1);
                bool ours = guid.Length == 32 && !guid.ContainsAnyExcept(HexDigits)
                    && pidAt + 1 >= host.Length + 2 && name.AsSpan(0, pidAt + 1).EndsWith(host, StringComparison.Ordinal)
                    && int.TryParse(name.AsSpan(pidAt + 1, guidAt - pidAt - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int id)
                    && !Running(id);
                if (!ours) continue;
                try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static bool Running(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
