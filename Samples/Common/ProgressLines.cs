using System.Diagnostics;

namespace ToyModels.Samples;

/// <summary>
/// Several live status lines on standard error (a sweep's grid line and pack line): on a terminal they are
/// redrawn in place (cursor moved up with ANSI escapes, at most 10 times a second); when standard error is a
/// file or pipe they are printed as plain lines at every tenth of the work and on forced updates.
/// </summary>
public sealed class ProgressLines(int count, TextWriter? writer = null, bool? live = null)
{
    private readonly TextWriter _writer = writer ?? Console.Error;
    private readonly bool _live = live ?? (writer is null && !Console.IsErrorRedirected);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastDraw = double.NegativeInfinity;
    private int _lastDecile = -1;
    private bool _drawn;

    /// <summary>Redraws the lines; <paramref name="fraction"/> (of the whole job) sets the bar and, when not live, the decile.</summary>
    public void Update(double fraction, IReadOnlyList<string> lines, bool force = false)
    {
        if (lines.Count != count) throw new ArgumentException($"{lines.Count} lines given, {count} expected", nameof(lines));
        fraction = Math.Clamp(fraction, 0, 1);
        if (_live)
        {
            double now = _clock.Elapsed.TotalSeconds;
            if (!force && now - _lastDraw < 0.1) return;
            _lastDraw = now;
            if (_drawn) _writer.Write($"\x1b[{count}F"); // to the start of the first line
            for (int k = 0; k < count; k++)
                _writer.Write("\x1b[2K" + (k == 0 ? ProgressLine.Bar(fraction) + " " : new string(' ', 32)) + lines[k] + "\n");
            _drawn = true;
        }
        else
        {
            int decile = (int)(fraction * 10);
            if (decile == _lastDecile && !force) return;
            _lastDecile = decile;
            _writer.WriteLine($"{fraction * 100,3:F0}% {string.Join("  |  ", lines)}");
        }
        _writer.Flush();
    }

    /// <summary>Leaves the last drawing in place; further output starts below it.</summary>
    public void Done() => _drawn = false;
}
