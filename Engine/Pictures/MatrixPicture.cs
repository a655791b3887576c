namespace ToyModels.Pictures;

/// <summary>
/// A square matrix as a heatmap: one pixel (or an integer block of pixels) per entry, encoded as PNG and
/// embedded in the SVG, with row and column ticks, a title and a diverging colour scale symmetric about 0.
/// </summary>
public static class MatrixPicture
{
    /// <summary>The entries as RGB pixels (row i is image row i), each entry a <paramref name="scale"/> x <paramref name="scale"/> block.</summary>
    internal static byte[] Pixels(ReadOnlySpan<double> matrix, int n, double limit, ColorMap map, int scale = 1)
    {
        int side = n * scale;
        var rgb = new byte[side * side * 3];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var c = map.At(0.5 + 0.5 * matrix[i * n + j] / limit);
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++)
                    {
                        int at = ((i * scale + dy) * side + j * scale + dx) * 3;
                        rgb[at] = c.R; rgb[at + 1] = c.G; rgb[at + 2] = c.B;
                    }
            }
        return rgb;
    }

    /// <summary>The PNG of the heatmap alone.</summary>
    public static byte[] EncodePng(ReadOnlySpan<double> matrix, int n, double limit, int scale = 1) =>
        Png.Encode(n * scale, n * scale, Pixels(matrix, n, limit, ColorMap.Diverging, scale));

    /// <summary>
    /// A colour limit that shows structure: the largest |off-diagonal| entry (the diagonal usually dwarfs
    /// the rest and would wash it out); entries beyond it saturate. Falls back to the largest |entry|.
    /// </summary>
    public static double OffDiagonalLimit(ReadOnlySpan<double> matrix, int n)
    {
        double limit = 0, all = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double a = Math.Abs(matrix[i * n + j]);
                if (!double.IsFinite(a)) continue;
                all = Math.Max(all, a);
                if (i != j) limit = Math.Max(limit, a);
            }
        return limit > 0 ? limit : all > 0 ? all : 1;
    }

    /// <summary>The labelled picture: <paramref name="side"/> pixels for the matrix, axes "feature j" and "feature i", colour scale on the right.</summary>
    public static Svg Render(ReadOnlySpan<double> matrix, int n, string title, double limit, double side = 360, string valueLabel = "value")
    {
        double left = 58, top = 34, right = 96, bottom = 50;
        var svg = new Svg(left + side + right, top + side + bottom);
        svg.Text(left + side / 2, 20, title, 14, "middle", bold: true);
        int scale = Math.Max(1, (int)Math.Ceiling(side / n));
        svg.Image(left, top, side, side, EncodePng(matrix, n, limit, scale));
        svg.Rect(left, top, side, side, "none", "#444444");
        foreach (double t in Axis.LinearTicks(0, n, 4).Where(t => t <= n))
        {
            double at = side * t / n;
            svg.Line(left + at, top + side, left + at, top + side + 4, "#444444");
            svg.Text(left + at, top + side + 16, Axis.Label(t), 10, "middle");
            svg.Line(left - 4, top + at, left, top + at, "#444444");
            svg.Text(left - 6, top + at + 4, Axis.Label(t), 10, "end");
        }
        svg.Text(left + side / 2, top + side + 38, "input feature j", 12, "middle");
        svg.Text(16, top + side / 2, "output feature i", 12, "middle", rotate: -90);
        ColorBar.Draw(svg, left + side + 14, top, 16, side, ColorMap.Diverging, -limit, limit, valueLabel);
        return svg;
    }
}
