using System.Globalization;

namespace ToyModels.Pictures;

/// <summary>An sRGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>"#rrggbb", as SVG and HTML take it.</summary>
    public string Hex => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");

    internal static Rgb Parse(string hex) => new(
        byte.Parse(hex.AsSpan(1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        byte.Parse(hex.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        byte.Parse(hex.AsSpan(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));

    internal static Rgb Mix(Rgb a, Rgb b, double t) => new(
        (byte)Math.Round(a.R + (b.R - a.R) * t), (byte)Math.Round(a.G + (b.G - a.G) * t), (byte)Math.Round(a.B + (b.B - a.B) * t));
}

/// <summary>A colour map: t in [0, 1] to a colour, by linear interpolation between evenly spaced stops.</summary>
public sealed class ColorMap(params string[] stops)
{
    private readonly Rgb[] _stops = stops.Select(Rgb.Parse).ToArray();

    /// <summary>Matplotlib's viridis (perceptually uniform, readable in grey and by colour-blind readers), 9 stops.</summary>
    public static ColorMap Viridis { get; } = new("#440154", "#472c7a", "#3b518b", "#2c718e", "#21908d", "#27ad81", "#5cc863", "#aadc32", "#fde725");

    /// <summary>ColorBrewer's RdBu reversed: blue for negative, near-white at the middle, red for positive.</summary>
    public static ColorMap Diverging { get; } = new("#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f");

    /// <summary>Tableau 10, for up to ten labelled series.</summary>
    internal static IReadOnlyList<string> Categories { get; } =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    /// <summary>Colour for <paramref name="t"/> clamped to [0, 1]; NaN gives light grey.</summary>
    public Rgb At(double t)
    {
        if (double.IsNaN(t)) return new Rgb(0xdd, 0xdd, 0xdd);
        t = Math.Clamp(t, 0, 1) * (_stops.Length - 1);
        int k = Math.Min((int)t, _stops.Length - 2);
        return Rgb.Mix(_stops[k], _stops[k + 1], t - k);
    }

    /// <summary>Colours for k ordered series: Tableau 10 when k &lt;= 10, else evenly spaced viridis (ends trimmed for contrast on white).</summary>
    internal static string[] Series(int k) => k <= Categories.Count
        ? Categories.Take(k).ToArray()
        : Enumerable.Range(0, k).Select(s => Viridis.At(0.9 * s / (k - 1)).Hex).ToArray();
}
