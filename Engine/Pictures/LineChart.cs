namespace ToyModels.Pictures;

internal enum SeriesStyle
{
    /// <summary>Markers joined by a solid line (measurements).</summary>
    LineAndMarkers,
    /// <summary>A line only (theory, baselines); <see cref="Series.Dash"/> sets its pattern.</summary>
    Line,
    Markers,
}

/// <summary>One labelled series of (x, y) points; points that cannot be drawn (NaN, non-positive on a log axis) are skipped.</summary>
internal sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, SeriesStyle Style = SeriesStyle.LineAndMarkers,
    string? Dash = null, bool InLegend = true);

/// <summary>A line chart with title, labelled axes with ticks and grid lines, and a legend on the right.</summary>
internal sealed class LineChart
{
    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public bool XLog { get; init; }
    public bool YLog { get; init; }
    public List<Series> Series { get; } = [];
    /// <summary>Extra legend lines that explain line styles: (style sample series, text).</summary>
    public List<Series> StyleKey { get; } = [];

    public Svg Render(double width = 640, double height = 400)
    {
        var entries = Series.Where(s => s.InLegend).Concat(StyleKey).ToList();
        double legendWidth = entries.Count == 0 ? 0 : Math.Min(230, 40 + 7 * entries.Max(e => e.Name.Length));
        double left = 72, right = 16 + legendWidth, top = 34, bottom = 52;
        var svg = new Svg(width, height);
        var all = Series.SelectMany(s => s.Points).ToList();
        var x = Axis.Fit(all.Select(p => p.X), XLog).Place(left, width - right);
        var y = Axis.Fit(all.Select(p => p.Y), YLog).Place(height - bottom, top);

        svg.Text(left + (width - right - left) / 2, 20, Title, 14, "middle", bold: true);
        foreach (double t in x.Ticks())
        {
            svg.Line(x[t], top, x[t], height - bottom, "#e6e6e6");
            svg.Line(x[t], height - bottom, x[t], height - bottom + 5, "#444444");
            svg.Text(x[t], height - bottom + 18, Axis.Label(t), 11, "middle");
        }
        foreach (double t in y.Ticks())
        {
            svg.Line(left, y[t], width - right, y[t], "#e6e6e6");
            svg.Line(left - 5, y[t], left, y[t], "#444444");
            svg.Text(left - 8, y[t] + 4, Axis.Label(t), 11, "end");
        }
        svg.Rect(left, top, width - right - left, height - bottom - top, "none", "#444444");
        svg.Text(left + (width - right - left) / 2, height - 12, XLabel + (XLog ? " (log scale)" : ""), 12, "middle");
        svg.Text(16, top + (height - bottom - top) / 2, YLabel + (YLog ? " (log scale)" : ""), 12, "middle", rotate: -90);

        foreach (var series in Series)
        {
            var points = series.Points.Where(p => x.Contains(p.X) && y.Contains(p.Y)).Select(p => (x[p.X], y[p.Y])).ToList();
            if (series.Style != SeriesStyle.Markers) svg.Polyline(points, series.Color, series.Style == SeriesStyle.Line ? 1.6 : 1.8, series.Dash);
            if (series.Style != SeriesStyle.Line)
                foreach (var (px, py) in points) svg.Circle(px, py, 3.2, series.Color, "#ffffff");
        }

        double ly = top + 6;
        foreach (var entry in entries)
        {
            double lx = width - right + 12;
            if (entry.Style != SeriesStyle.Markers) svg.Line(lx, ly, lx + 24, ly, entry.Color, 1.8, entry.Dash);
            if (entry.Style != SeriesStyle.Line) svg.Circle(lx + 12, ly, 3.2, entry.Color, "#ffffff");
            svg.Text(lx + 30, ly + 4, entry.Name, 11);
            ly += 17;
        }
        return svg;
    }
}
