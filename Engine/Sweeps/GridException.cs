using ToyModels.IO;

namespace ToyModels.Sweeps;

/// <summary>A grid file that cannot be used: the file, the field (a JSON path such as "p[2]" or "optimizer.eps") and why.</summary>
/// <remarks>The message is one line: a field name read from the file is shown with its control characters escaped.</remarks>
public sealed class GridException(string file, string field, string reason)
    : Exception(OneLine.Of($"{file}: {field}: {reason}"))
{
    public string File { get; } = file;
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}
