using System.Globalization;
using System.Net;
using System.Text;

namespace ToyModels.Pictures;

/// <summary>
/// A small SVG writer: the shapes the charts need, numbers in invariant culture with two decimals,
/// text escaped. <see cref="ToString"/> closes the document; the result embeds in HTML as is.
/// </summary>
public sealed class Svg
{
    internal const string Font = "DejaVu Sans, Helvetica, Arial, sans-serif";
    private readonly StringBuilder _text = new();

    /// <summary>Width in SVG user units (pixels at 100%).</summary>
    public double Width { get; }
    /// <summary>Height in SVG user units.</summary>
    public double Height { get; }

    /// <summary>An empty picture of that size on a white background; coordinates run right and down from the top left.</summary>
    public Svg(double width, double height)
    {
        Width = width;
        Height = height;
        _text.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{N(width)}\" height=\"{N(height)}\" viewBox=\"0 0 {N(width)} {N(height)}\" font-family=\"{Font}\" font-size=\"12\">\n");
        Rect(0, 0, width, height, "#ffffff");
    }

    /// <summary>A number as SVG wants it: invariant, at most two decimals.</summary>
    internal static string N(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

    internal static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A straight line; <paramref name="stroke"/> is an SVG colour ("#rrggbb"), <paramref name="dash"/> an SVG dash array ("4 3") or null for solid.</summary>
    public void Line(double x1, double y1, double x2, double y2, string stroke, double width = 1, string? dash = null) =>
        _text.Append($"<line x1=\"{N(x1)}\" y1=\"{N(y1)}\" x2=\"{N(x2)}\" y2=\"{N(y2)}\" stroke=\"{stroke}\" stroke-width=\"{N(width)}\"{Dash(dash)}/>\n");

    /// <summary>A rectangle from its top-left corner; <paramref name="stroke"/> null for no outline, <paramref name="title"/> a tooltip or null.</summary>
    public void Rect(double x, double y, double width, double height, string fill, string? stroke = null, string? title = null)
    {
        _text.Append($"<rect x=\"{N(x)}\" y=\"{N(y)}\" width=\"{N(width)}\" height=\"{N(height)}\" fill=\"{fill}\"");
        if (stroke is not null) _text.Append($" stroke=\"{stroke}\"");
        Close("rect", title);
    }

    /// <summary>A circle around (x, y); <paramref name="fill"/> "none" for an outline only, <paramref name="title"/> a tooltip or null.</summary>
    public void Circle(double x, double y, double radius, string fill, string? stroke = null, string? title = null)
    {
        _text.Append($"<circle cx=\"{N(x)}\" cy=\"{N(y)}\" r=\"{N(radius)}\" fill=\"{fill}\"");
        if (stroke is not null) _text.Append($" stroke=\"{stroke}\"");
        Close("circle", title);
    }

    internal void Polyline(IEnumerable<(double X, double Y)> points, string stroke, double width = 1.5, string? dash = null)
    {
        string list = string.Join(" ", points.Select(p => $"{N(p.X)},{N(p.Y)}"));
        if (list.Length == 0) return;
        _text.Append($"<polyline points=\"{list}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{N(width)}\" stroke-linejoin=\"round\"{Dash(dash)}/>\n");
    }

    /// <summary>An arrow from (x1, y1) to (x2, y2) with a small filled head.</summary>
    public void Arrow(double x1, double y1, double x2, double y2, string stroke, double width = 2)
    {
        double dx = x2 - x1, dy = y2 - y1, length = Math.Sqrt(dx * dx + dy * dy);
        if (length < 1e-9) { Circle(x1, y1, width, stroke); return; }
        double ux = dx / length, uy = dy / length, head = Math.Min(9, 0.4 * length);
        Line(x1, y1, x2 - ux * head * 0.7, y2 - uy * head * 0.7, stroke, width);
        double bx = x2 - ux * head, by = y2 - uy * head;
        _text.Append($"<polygon points=\"{N(x2)},{N(y2)} {N(bx - uy * head * 0.45)},{N(by + ux * head * 0.45)} {N(bx + uy * head * 0.45)},{N(by - ux * head * 0.45)}\" fill=\"{stroke}\"/>\n");
    }

    /// <summary>Text; anchor is start, middle or end; rotate in degrees about the anchor point.</summary>
    public void Text(double x, double y, string text, double size = 12, string anchor = "start", string fill = "#222222",
        bool bold = false, double rotate = 0)
    {
        _text.Append($"<text x=\"{N(x)}\" y=\"{N(y)}\" font-size=\"{N(size)}\" text-anchor=\"{anchor}\" fill=\"{fill}\"");
        if (bold) _text.Append(" font-weight=\"bold\"");
        if (rotate != 0) _text.Append($" transform=\"rotate({N(rotate)} {N(x)} {N(y)})\"");
        _text.Append('>').Append(Escape(text)).Append("</text>\n");
    }

    /// <summary>A PNG drawn pixel for pixel (no smoothing) into the rectangle.</summary>
    public void Image(double x, double y, double width, double height, byte[] png) =>
        _text.Append($"<image x=\"{N(x)}\" y=\"{N(y)}\" width=\"{N(width)}\" height=\"{N(height)}\" preserveAspectRatio=\"none\" " +
            $"style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{Convert.ToBase64String(png)}\"/>\n");

    /// <summary>Another picture placed at (x, y).</summary>
    public void Place(double x, double y, Svg picture) =>
        _text.Append($"<g transform=\"translate({N(x)},{N(y)})\">\n").Append(picture.Body()).Append("</g>\n");

    private string Body()
    {
        string all = _text.ToString();
        int start = all.IndexOf('\n') + 1;
        return all[start..];
    }

    private void Close(string element, string? title) =>
        _text.Append(title is null ? "/>\n" : $"><title>{Escape(title)}</title></{element}>\n");

    private static string Dash(string? dash) => dash is null ? "" : $" stroke-dasharray=\"{dash}\"";

    /// <summary>The whole SVG document, closed.</summary>
    public override string ToString() => _text + "</svg>\n";

    /// <summary>Writes the document to <paramref name="path"/> atomically (<see cref="IO.AtomicFile"/>).</summary>
    public void Save(string path) => IO.AtomicFile.WriteAllText(path, ToString());
}
