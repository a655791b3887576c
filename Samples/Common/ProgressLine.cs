using System.Diagnostics;

namespace ToyModels.Samples;

/// <summary>
/// One live status line on standard error: redrawn in place on a terminal (at most 10 times a
/// second), printed as plain lines at every tenth of the work when standard error is a file or pipe.
/// </summary>
public sealed class ProgressLine(TextWriter? writer = null)
{
    private readonly TextWriter _writer = writer ?? Console.Error;
    private readonly bool _live = writer is null && !Console.IsErrorRedirected;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastDraw = double.NegativeInfinity;
    private int _lastDecile = -1;
    private int _width;

    public void Update(double fraction, string text, bool force = false)
    {
        fraction = Math.Clamp(fraction, 0, 1);
        if (_live)
        {
            double now = _clock.Elapsed.TotalSeconds;
            if (!force && now - _lastDraw < 0.1) return;
            _lastDraw = now;
            string line = $"{Bar(fraction)} {text}";
            _writer.Write("\r" + line.PadRight(_width));
            _width = line.Length;
        }
        else
        {
            int decile = (int)(fraction * 10);
            if (decile == _lastDecile && !force) return;
            _lastDecile = decile;
            _writer.WriteLine($"{fraction * 100,3:F0}% {text}");
        }
    }

    /// <summary>Ends the live line so the next output starts on a fresh one.</summary>
    public void Done()
    {
        if (_live && _width > 0) _writer.WriteLine();
        _width = 0;
    }

    public static string Bar(double fraction, int cells = 24)
    {
        int full = (int)Math.Round(fraction * cells);
        return "[" + new string('#', full) + new string('.', cells - full) + $"] {fraction * 100,3:F0}%";
    }

    public static string Duration(double seconds) =>
        double.IsFinite(seconds) && seconds >= 0
            ? (seconds >= 3600 ? TimeSpan.FromSeconds(seconds).ToString(@"h\:mm\:ss") : TimeSpan.FromSeconds(seconds).ToString(@"m\:ss"))
            : "?";
}
