using System.Globalization;
using System.Text;
using ToyModels.IO;

namespace ToyModels.Training;

/// <summary>
/// metrics.csv, a run's loss curve: the header <c>step,instance,loss,eval_loss,steps_per_s</c>, then one row per instance per
/// <see cref="TrainingProgress"/> report (losses round-trip exactly, eval_loss empty when the report did not evaluate, steps/s
/// to two decimals). Pass <see cref="Append"/> as (or from) the trainer's progress.
/// </summary>
/// <remarks>
/// Crash-safe: the file is made whole before the run (header and kept rows written to a temporary file and renamed, see
/// <see cref="AtomicFile"/>); each report's rows are then appended in one write and flushed, so a killed process leaves at most
/// a torn last line, never a row of the wrong step. Appending rather than rewriting keeps a long run's cost linear and lets
/// a reader follow the file. A resumed run (<c>resumedAt</c>) keeps the whole rows up to the checkpoint's step and drops the rest
/// (rows a killed run wrote after its last checkpoint, and a torn last line), so no step appears twice.
/// </remarks>
public sealed class MetricsFile : IDisposable
{
    /// <summary>The first line of every metrics file.</summary>
    public const string Header = "step,instance,loss,eval_loss,steps_per_s";

    private readonly FileStream _stream;
    private readonly StringBuilder _rows = new();

    /// <summary>Creates <paramref name="path"/> (replacing it whole), or with <paramref name="resumedAt"/> keeps its rows up to that step.</summary>
    /// <param name="path">The file; its folder is created.</param>
    /// <param name="resumedAt">The checkpoint's step when resuming (rows after it are dropped), or null for a new file.</param>
    public MetricsFile(string path, long? resumedAt = null)
    {
        var kept = resumedAt is long step && File.Exists(path) ? RowsUpTo(path, step) : [];
        AtomicFile.WriteAllText(path, string.Concat(kept.Prepend(Header).Select(line => line + "\n")));
        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        Path = path;
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <summary>Whole rows of an earlier metrics file whose step is at most <paramref name="step"/>.</summary>
    private static List<string> RowsUpTo(string path, long step)
    {
        string text = File.ReadAllText(path);
        var lines = text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines.Skip(1).Where(line => line.Split(',') is [var first, _, _, _, _]
            && long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out long s) && s <= step).ToList();
    }

    /// <summary>Appends the report's rows, one per instance, in one write, and flushes them.</summary>
    public void Append(TrainingProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var c = CultureInfo.InvariantCulture;
        _rows.Clear();
        for (int s = 0; s < p.Loss.Count; s++)
            _rows.Append(c, $"{p.Step},{s},{p.Loss[s]:R},{(p.EvalLoss is null ? "" : p.EvalLoss[s].ToString("R", c))},{p.StepsPerSecond:F2}").Append('\n');
        byte[] bytes = Encoding.UTF8.GetBytes(_rows.ToString());
        _stream.Write(bytes);
        _stream.Flush();
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();
}
