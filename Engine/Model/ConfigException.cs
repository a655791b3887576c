namespace ToyModels.Model;

/// <summary>
/// A configuration value outside what the engine accepts, named in the engine's own terms: <see cref="Field"/> is the
/// setting (a property such as "OptimizerSettings.Eps" or "AutoencoderConfig.Instances[2].P", or a parameter such as
/// "Trainer.Run(totalSteps)"; several separated by ", " when only their combination is refused), <see cref="Value"/>
/// the rejected value as given, <see cref="Accepted"/> what would have been accepted. A program shows its own option
/// names instead (the samples translate with one table, Samples/Common/OptionNames).
/// </summary>
public sealed class ConfigException : ArgumentException
{
    /// <summary>The setting refused, as "Type.Property" or "Type.Method(parameter)".</summary>
    public string Field { get; }
    /// <summary>The value refused, formatted invariantly ("(none)" for null).</summary>
    public string Value { get; }
    /// <summary>What the setting accepts.</summary>
    public string Accepted { get; }

    /// <summary>A refusal of <paramref name="value"/> for <paramref name="field"/>; the message reads "FIELD = VALUE is invalid; accepted: ACCEPTED".</summary>
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
