namespace ToyModels.IO;

/// <summary>What is wrong with a file the engine was asked to read.</summary>
public enum FileError
{
    /// <summary>The file could not be opened or read.</summary>
    Io,
    /// <summary>The file ends before its header or its data does.</summary>
    Truncated,
    /// <summary>The header is not a safetensors header (length, JSON, fields, a key given twice).</summary>
    BadHeader,
    /// <summary>A tensor entry is malformed: dtype, shape, offsets, overlap or gaps.</summary>
    BadTensor,
    /// <summary>The checksum does not match the contents: the file was altered or damaged.</summary>
    ChecksumMismatch,
    /// <summary>The file is well formed but is not what was expected (other kind, version, config, shapes, missing tensors or metadata).</summary>
    Mismatch,
    /// <summary>A tensor holds a value no training writes (NaN, infinity, a negative second moment) or one its config contradicts (importance).</summary>
    BadValue,
}

/// <summary>A file that cannot be loaded, with the reason in <see cref="Error"/> and the file in <see cref="Path"/>.</summary>
public sealed class CheckpointException(FileError error, string path, string message, Exception? inner = null)
    : Exception($"{path}: {message}", inner)
{
    /// <summary>What kind of problem it is.</summary>
    public FileError Error { get; } = error;
    /// <summary>The file, as the caller named it.</summary>
    public string Path { get; } = path;
}
