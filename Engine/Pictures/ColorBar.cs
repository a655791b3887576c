namespace ToyModels.Pictures;

/// <summary>A vertical colour scale with ticks and a label, drawn from stacked bands (no gradient ids to collide in one HTML page).</summary>
public static class ColorBar
{
    /// <summary>Draws the scale of <paramref name="map"/> from <paramref name="min"/> (bottom) to <paramref name="max"/> (top) in the box at (x, y), ticks and <paramref name="label"/> to its right.</summary>
    /// <param name="svg">The picture to draw on.</param>
    /// <param name="x">Left edge of the bar.</param>
    /// <param name="y">Top edge of the bar.</param>
    /// <param name="width">Width of the bar.</param>
    /// <param name="height">Height of the bar.</param>
    /// <param name="map">The colours, t = 0 at the bottom.</param>
    /// <param name="min">The value at the bottom.</param>
    /// <param name="max">The value at the top.</param>
    /// <param name="label">What the values are, written beside the ticks.</param>
    /// <param name="log">Ticks on a log scale (min and max then &gt; 0).</param>
    public static void Draw(Svg svg, double x, double y, double width, double height, ColorMap map, double min, double max, string label, bool log = false)
    {
        const int bands = 96;
        for (int k = 0; k < bands; k++)
        {
            double t = (k + 0.5) / bands;
            svg.Rect(x, y + height * (1 - (k + 1.0) / bands), width, height / bands + 0.6, map.At(t).Hex);
        }
        svg.Rect(x, y, width, height, "none", "#444444");
        var axis = new Axis(min, max, log).Place(y + height, y);
        foreach (double t in axis.Ticks())
        {
            svg.Line(x + width, axis[t], x + width + 4, axis[t], "#444444");
            svg.Text(x + width + 7, axis[t] + 4, Axis.Label(t), 10);
        }
        svg.Text(x + width + 52, y + height / 2, label, 11, "middle", rotate: -90);
    }
}
