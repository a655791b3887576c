using System.Globalization;

namespace ToyModels.Measure.Tools;

/// <summary>"--name value" options of the measuring verbs; an unknown or malformed one is an error naming it.</summary>
internal sealed class ToolOptions
{
    private readonly Dictionary<string, string> _values = [];

    public ToolOptions(string verb, IEnumerable<string> args, params string[] accepted)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i += 2)
        {
            if (!accepted.Contains(list[i]))
                throw new ArgumentException($"{verb}: unknown option '{list[i]}' (accepted: {string.Join(", ", accepted)})");
            if (i + 1 >= list.Count) throw new ArgumentException($"{verb}: {list[i]} needs a value");
            if (!_values.TryAdd(list[i], list[i + 1]))
                throw new ArgumentException($"{verb}: {list[i]} given more than once; each option is accepted at most once");
        }
    }

    public string String(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback, int min)
    {
        if (!_values.TryGetValue(name, out string? text)) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min)
            throw new ArgumentException($"{name}: '{text}' is not an integer >= {min}");
        return value;
    }
}
