using ToyModels.IO;

namespace ToyModels.Sweeps;

/// <summary>A grid file that cannot be used: the file, the field (a JSON path such as "p[2]" or "optimizer.eps") and why.</summary>
/// <remarks>The message is one line: a field name read from the file is shown with its control characters escaped.</remarks>
public sealed class GridException(string file, string field, string reason)
    : Exception(OneLine.Of($"{file}: {field}: {reason}"))
{
    /// <summary>The grid file (or the source given to <see cref="SweepGrid.Parse"/>).</summary>
    public string File { get; } = file;
    /// <summary>The field, as a JSON path ("p[2]", "optimizer.eps"), or "(file)" and "(syntax)" for the file as a whole.</summary>
    public string Field { get; } = field;
    /// <summary>What is wrong and what is accepted.</summary>
    public string Reason { get; } = reason;
}
