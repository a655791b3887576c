namespace ToyModels.Measure.Hardware;

/// <summary>A plain console table: columns padded to their widest cell, numbers right-aligned.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public void Write(TextWriter writer)
    {
        int columns = headers.Length;
        var widths = new int[columns];
        foreach (var row in _rows.Prepend(headers))
            for (int c = 0; c < columns && c < row.Length; c++) widths[c] = Math.Max(widths[c], row[c].Length);
        void Line(string[] row, bool header)
        {
            var cells = new string[columns];
            for (int c = 0; c < columns; c++)
            {
                string cell = c < row.Length ? row[c] : "";
                bool number = !header && cell.Length > 0 && (char.IsDigit(cell[0]) || cell[0] == '-' && cell.Length > 1) && c > 0;
                cells[c] = number ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]);
            }
            writer.WriteLine(string.Join("  ", cells).TrimEnd());
        }
        Line(headers, true);
        writer.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in _rows) Line(row, false);
    }

    public static string Number(double? value, string format = "F1") =>
        value is double v ? v.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "-";

    /// <summary>Steps or samples per second with 3 significant digits, thousands grouped.</summary>
    public static string Rate(double? value) => value switch
    {
        null => "-",
        >= 1000 => value.Value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        >= 100 => value.Value.ToString("F0", System.Globalization.CultureInfo.InvariantCulture),
        >= 10 => value.Value.ToString("F1", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.Value.ToString("F2", System.Globalization.CultureInfo.InvariantCulture),
    };
}
