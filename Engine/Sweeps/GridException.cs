namespace ToyModels.Sweeps;

/// <summary>A grid file that cannot be used: the file, the field (a JSON path such as "p[2]" or "optimizer.eps") and why.</summary>
public sealed class GridException(string file, string field, string reason)
    : Exception($"{file}: {field}: {reason}")
{
    public string File { get; } = file;
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}
