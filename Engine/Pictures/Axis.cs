using System.Globalization;

namespace ToyModels.Pictures;

/// <summary>
/// A numeric axis: a data range mapped onto a pixel interval, linear or logarithmic, with "nice" ticks
/// (1, 2, 5 times a power of ten; decades on log axes) and compact labels.
/// </summary>
internal sealed class Axis
{
    public double Min { get; }
    public double Max { get; }
    public bool Log { get; }
    public double PixelStart { get; private set; }
    public double PixelEnd { get; private set; }

    public Axis(double min, double max, bool log)
    {
        if (log && !(min > 0)) throw new ArgumentOutOfRangeException(nameof(min), min, "a log axis needs a positive range");
        if (!(max > min)) { double c = min; (min, max) = log ? (c / 2, c * 2) : (c - (c == 0 ? 1 : Math.Abs(c) / 2), c + (c == 0 ? 1 : Math.Abs(c) / 2)); }
        Min = min; Max = max; Log = log;
    }

    /// <summary>An axis covering the finite values (positive ones on a log axis), padded a little.</summary>
    public static Axis Fit(IEnumerable<double> values, bool log, bool includeZero = false)
    {
        var usable = values.Where(v => double.IsFinite(v) && (!log || v > 0)).ToList();
        if (includeZero && !log) usable.Add(0);
        if (usable.Count == 0) return log ? new Axis(0.1, 1, true) : new Axis(0, 1, false);
        double min = usable.Min(), max = usable.Max();
        if (log)
        {
            double pad = Math.Pow(max / min, 0.04);
            if (max == min) pad = 2;
            return new Axis(min / pad, max * pad, true);
        }
        double span = max - min;
        if (span == 0) span = Math.Abs(max) > 0 ? Math.Abs(max) : 1;
        return new Axis(includeZero && min >= 0 ? min : min - 0.04 * span, max + 0.04 * span, false);
    }

    public Axis Place(double start, double end) { PixelStart = start; PixelEnd = end; return this; }

    /// <summary>Data value to pixel.</summary>
    public double this[double value]
    {
        get
        {
            double t = Log ? Math.Log(value / Min) / Math.Log(Max / Min) : (value - Min) / (Max - Min);
            return PixelStart + t * (PixelEnd - PixelStart);
        }
    }

    public bool Contains(double value) => double.IsFinite(value) && value >= Min && value <= Max && (!Log || value > 0);

    public IReadOnlyList<double> Ticks()
    {
        if (!Log) return LinearTicks(Min, Max, 6);
        double decades = Math.Log10(Max / Min);
        var ticks = new List<double>();
        int first = (int)Math.Floor(Math.Log10(Min)), last = (int)Math.Ceiling(Math.Log10(Max));
        double[] mantissas = decades >= 2 ? [1] : decades >= 0.8 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
        int every = Math.Max(1, (int)Math.Ceiling(decades / 8));
        for (int e = first; e <= last; e++)
        {
            if (mantissas.Length == 1 && (e - first) % every != 0) continue;
            foreach (double mantissa in mantissas)
            {
                double v = mantissa * Math.Pow(10, e);
                if (v >= Min * (1 - 1e-9) && v <= Max * (1 + 1e-9)) ticks.Add(v);
            }
        }
        return ticks.Count >= 2 ? ticks : LinearTicks(Min, Max, 4);
    }

    public static IReadOnlyList<double> LinearTicks(double min, double max, int target)
    {
        double raw = (max - min) / target, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 2.5, 5, 10 }.Select(s => s * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (double v = Math.Ceiling(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step)
            ticks.Add(Math.Abs(v) < step * 1e-9 ? 0 : v);
        return ticks;
    }

    /// <summary>A short label: 0.001, 0.25, 12, 3e+5, 2e-5.</summary>
    public static string Label(double value)
    {
        if (value == 0) return "0";
        double a = Math.Abs(value);
        if (a >= 1e-4 && a < 1e5) return value.ToString("0.####", CultureInfo.InvariantCulture);
        return value.ToString("0.#e+0", CultureInfo.InvariantCulture);
    }
}
