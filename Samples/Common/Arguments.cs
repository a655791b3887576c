using System.Globalization;

namespace ToyModels.Samples;

/// <summary>Bad command-line input: the option, the value given and what is accepted. Programs exit 2 on it.</summary>
public sealed class UsageException : Exception
{
    public string Option { get; }

    public UsageException(string option, string? value, string accepted)
        : base(value is null ? $"{option}: {accepted}" : $"{option}: '{value}' is invalid; accepted: {accepted}") => Option = option;

    private UsageException(string option, string message, Exception? inner) : base($"{option}: {message}", inner) => Option = option;

    /// <summary>An option whose value is a file that cannot be used, with the reason.</summary>
    public static UsageException File(string option, Exception reason) => new(option, reason.Message, reason);

    /// <summary>An option naming a place to write that cannot be written, with the reason.</summary>
    public static UsageException Output(string option, string path, string reason) => new(option, $"cannot write '{path}': {reason}", (Exception?)null);
}

/// <summary>
/// A small, strict option parser: "--name value", "--name=value" and flags. Each option may be given once
/// (a repeated one, flag or not, is an error) and is read once by the program; <see cref="Finish"/> rejects
/// anything left over, so a typo never goes unnoticed.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (int k = 0; k < list.Count; k++)
        {
            string arg = list[k];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new UsageException(arg, null, "options start with -- (see --help)");
            string name = arg;
            string? value = null;
            int eq = arg.IndexOf('=');
            if (eq > 0) { name = arg[..eq]; value = arg[(eq + 1)..]; }
            else if (k + 1 < list.Count && !(list[k + 1].StartsWith("--", StringComparison.Ordinal) && list[k + 1].Length > 2)) value = list[++k];
            // Flags too: a repeated option is refused rather than silently read once or overridden.
            if (!_values.TryAdd(name, value)) throw new UsageException(name, null, "given more than once; each option is accepted at most once");
        }
    }

    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>A flag: present or not; a value after it is an error.</summary>
    public bool Flag(string name)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var value)) return false;
        if (value is not null) throw new UsageException(name, value, "no value (it is a flag)");
        return true;
    }

    public string? String(string name)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var value)) return null;
        return value ?? throw new UsageException(name, null, "a value after the option");
    }

    public string String(string name, string fallback) => String(name) ?? fallback;

    /// <summary>A file or folder; an empty value is refused here, whether the program reads or writes there.</summary>
    public string? Path(string name)
    {
        string? text = String(name);
        if (text is not null && string.IsNullOrWhiteSpace(text)) throw new UsageException(name, text, "a path (this one is empty)");
        return text;
    }

    public string Path(string name, string fallback) => Path(name) ?? fallback;

    public T Choice<T>(string name, T fallback, Func<string, T> parse, string accepted)
    {
        string? text = String(name);
        if (text is null) return fallback;
        try { return parse(text); }
        catch (Exception e) when (e is ArgumentException or FormatException) { throw new UsageException(name, text, accepted); }
    }

    public long Long(string name, long fallback, long min, long max)
    {
        string? text = String(name);
        if (text is null) return fallback;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
            throw new UsageException(name, text, max == long.MaxValue ? $"an integer >= {min}" : $"an integer in [{min}, {max}]");
        return value;
    }

    public int Int(string name, int fallback, int min, int max = int.MaxValue) => (int)Long(name, fallback, min, max);

    public ulong ULong(string name, ulong fallback)
    {
        string? text = String(name);
        if (text is null) return fallback;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            throw new UsageException(name, text, "an integer in [0, 18446744073709551615]");
        return value;
    }

    /// <summary>A number; <paramref name="valid"/> decides the range, <paramref name="accepted"/> says it.</summary>
    public double Double(string name, double fallback, Func<double, bool> valid, string accepted)
    {
        string? text = String(name);
        if (text is null) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !valid(value))
            throw new UsageException(name, text, accepted);
        return value;
    }

    /// <summary>Rejects options that no one read.</summary>
    public void Finish()
    {
        foreach (var name in _values.Keys)
            if (!_read.Contains(name)) throw new UsageException(name, null, "unknown option (see --help)");
    }
}
