namespace ToyModels.Pictures;

/// <summary>A vertical colour scale with ticks and a label, drawn from stacked bands (no gradient ids to collide in one HTML page).</summary>
public static class ColorBar
{
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
