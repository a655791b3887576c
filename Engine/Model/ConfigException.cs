namespace ToyModels.Model;

/// <summary>
/// A configuration value outside what the engine accepts. <see cref="Field"/> is the user-facing
/// name (the same as the Samples' command-line option without dashes), <see cref="Value"/> the
/// rejected value as given, <see cref="Accepted"/> what would have been accepted.
/// </summary>
public sealed class ConfigException : ArgumentException
{
    public string Field { get; }
    public string Value { get; }
    public string Accepted { get; }

    public ConfigException(string field, object? value, string accepted)
        : base($"{field} = {Format(value)} is invalid; accepted: {accepted}")
    {
        Field = field;
        Value = Format(value);
        Accepted = accepted;
    }

    internal static string Format(object? value) => value switch
    {
        null => "(none)",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
