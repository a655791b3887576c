namespace ToyModels.Pictures;

/// <summary>
/// A heatmap over two swept parameters: one coloured cell per (x, y) pair of the grid, categories in
/// ascending order, missing cells grey, a colour scale on the right, values in each cell's tooltip.
/// </summary>
internal sealed class GridHeatmap
{
    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public string ValueLabel { get; init; } = "";
    public ColorMap Map { get; init; } = ColorMap.Viridis;
    /// <summary>Colour range; null fits the finite values.</summary>
    public (double Min, double Max)? Range { get; init; }
    public bool LogColor { get; init; }
    public Dictionary<(double X, double Y), double> Cells { get; } = [];

    public Svg Render(double width = 520, double height = 420)
    {
        var xs = Cells.Keys.Select(k => k.X).Distinct().Order().ToArray();
        var ys = Cells.Keys.Select(k => k.Y).Distinct().Order().ToArray();
        double left = 72, right = 100, top = 34, bottom = 56;
        var svg = new Svg(width, height);
        svg.Text(left + (width - right - left) / 2, 20, Title, 14, "middle", bold: true);
        if (xs.Length == 0) return svg;
        var finite = Cells.Values.Where(v => double.IsFinite(v) && (!LogColor || v > 0)).ToList();
        var (min, max) = Range ?? (finite.Count > 0 ? (finite.Min(), finite.Max()) : (0, 1));
        if (!(max > min)) max = min + (min == 0 ? 1 : Math.Abs(min) * 0.01);
        double cw = (width - left - right) / xs.Length, ch = (height - top - bottom) / ys.Length;
        for (int a = 0; a < xs.Length; a++)
            for (int b = 0; b < ys.Length; b++)
            {
                double value = Cells.TryGetValue((xs[a], ys[b]), out double v) ? v : double.NaN;
                double t = !double.IsFinite(value) ? double.NaN
                    : LogColor ? (value > 0 ? Math.Log(value / min) / Math.Log(max / min) : 0) : (value - min) / (max - min);
                string tip = $"{XLabel} {Axis.Label(xs[a])}, {YLabel} {Axis.Label(ys[b])}: {(double.IsFinite(value) ? value.ToString("G4", System.Globalization.CultureInfo.InvariantCulture) : "no result")}";
                svg.Rect(left + a * cw, top + (ys.Length - 1 - b) * ch, cw + 0.3, ch + 0.3, Map.At(t).Hex, title: tip);
            }
        svg.Rect(left, top, width - left - right, height - top - bottom, "none", "#444444");
        int xEvery = Math.Max(1, (int)Math.Ceiling(xs.Length * 34 / (width - left - right)));
        for (int a = 0; a < xs.Length; a += xEvery)
            svg.Text(left + (a + 0.5) * cw, height - bottom + 16, Axis.Label(xs[a]), 10, "middle");
        int yEvery = Math.Max(1, (int)Math.Ceiling(ys.Length * 14 / (height - top - bottom)));
        for (int b = 0; b < ys.Length; b += yEvery)
            svg.Text(left - 6, top + (ys.Length - 1 - b + 0.5) * ch + 4, Axis.Label(ys[b]), 10, "end");
        svg.Text(left + (width - left - right) / 2, height - 14, XLabel, 12, "middle");
        svg.Text(16, top + (height - top - bottom) / 2, YLabel, 12, "middle", rotate: -90);
        ColorBar.Draw(svg, width - right + 14, top, 16, height - top - bottom, Map, min, max, ValueLabel, LogColor);
        return svg;
    }
}
