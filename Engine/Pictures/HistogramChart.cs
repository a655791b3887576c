namespace ToyModels.Pictures;

/// <summary>A histogram of values in a fixed range: equal-width bins, counts as bars, axes with ticks.</summary>
internal sealed class HistogramChart
{
    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public double Min { get; init; }
    public double Max { get; init; } = 1;
    public int Bins { get; init; } = 20;
    public string Color { get; init; } = "#4e79a7";
    public IReadOnlyList<double> Values { get; init; } = [];

    public int[] Counts()
    {
        var counts = new int[Bins];
        foreach (double v in Values)
        {
            if (!double.IsFinite(v)) continue;
            int k = (int)Math.Floor((v - Min) / (Max - Min) * Bins);
            counts[Math.Clamp(k, 0, Bins - 1)]++;
        }
        return counts;
    }

    public Svg Render(double width = 320, double height = 220)
    {
        double left = 48, right = 12, top = 30, bottom = 44;
        var svg = new Svg(width, height);
        svg.Text(left + (width - left - right) / 2, 18, Title, 12, "middle", bold: true);
        var counts = Counts();
        var x = new Axis(Min, Max, false).Place(left, width - right);
        var y = new Axis(0, Math.Max(1, counts.Max()) * 1.08, false).Place(height - bottom, top);
        foreach (double t in y.Ticks().Where(t => t == Math.Round(t))) // counts: whole numbers only
        {
            svg.Line(left, y[t], width - right, y[t], "#e6e6e6");
            svg.Text(left - 6, y[t] + 4, Axis.Label(t), 10, "end");
        }
        double bin = (Max - Min) / Bins;
        for (int k = 0; k < Bins; k++)
            if (counts[k] > 0)
                svg.Rect(x[Min + k * bin] + 0.5, y[counts[k]], x[Min + (k + 1) * bin] - x[Min + k * bin] - 1, y[0] - y[counts[k]], Color,
                    title: $"[{Axis.Label(Min + k * bin)}, {Axis.Label(Min + (k + 1) * bin)}): {counts[k]}");
        svg.Rect(left, top, width - left - right, height - top - bottom, "none", "#444444");
        foreach (double t in x.Ticks())
        {
            svg.Line(x[t], height - bottom, x[t], height - bottom + 4, "#444444");
            svg.Text(x[t], height - bottom + 16, Axis.Label(t), 10, "middle");
        }
        svg.Text(left + (width - left - right) / 2, height - 10, XLabel, 11, "middle");
        svg.Text(13, top + (height - top - bottom) / 2, "features", 11, "middle", rotate: -90);
        return svg;
    }
}
