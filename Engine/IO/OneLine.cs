using System.Globalization;
using System.Text;

namespace ToyModels.IO;

/// <summary>
/// Error messages are one line. Text taken from a file (a JSON key, a tensor name) may hold line breaks or
/// other control characters; they are shown escaped, as \n or \u001b, so a message stays one line.
/// </summary>
public static class OneLine
{
    /// <summary><paramref name="text"/> with every control character escaped (\n, \r, \t, \uXXXX); the text itself when it has none.</summary>
    public static string Of(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        var line = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            if (!char.IsControl(c)) line.Append(c);
            else if (c == '\n') line.Append("\\n");
            else if (c == '\r') line.Append("\\r");
            else if (c == '\t') line.Append("\\t");
            else line.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        return line.ToString();
    }
}
