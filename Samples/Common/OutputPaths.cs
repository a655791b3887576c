using ToyModels.IO;

namespace ToyModels.Samples;

/// <summary>
/// Checks the places a program will write before it does any work, so that an empty, missing or read-only
/// path is a bad-input error naming the option (exit 2) instead of a failure after training.
/// </summary>
public static class OutputPaths
{
    /// <summary>A file the program will write (atomically): its folder is created and must accept new files.</summary>
    public static string File(string option, string path) =>
        AtomicFile.Unwritable(path) is { } reason ? throw UsageException.Output(option, path, reason) : path;

    /// <summary>A folder the program will write files into: created, and must accept new files.</summary>
    public static string Folder(string option, string path) =>
        AtomicFile.UnwritableFolder(path) is { } reason ? throw UsageException.Output(option, path, reason) : path;
}
