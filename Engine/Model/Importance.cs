using System.Globalization;
using ToyModels.Numerics;

namespace ToyModels.Model;

/// <summary>The family of feature importances; <see cref="Importance.Parameter"/> picks one of it.</summary>
public enum ImportanceKind
{
    /// <summary>I_i = 1.</summary>
    Uniform,
    /// <summary>I_i = r^i (Elhage et al. 2022, Anthropic's notebook).</summary>
    Decay,
    /// <summary>I_i = (i+1)^(-k/2) (Cowsik, Dolev, Infanger 2024, the Persian Rug's power law).</summary>
    Power,
}

/// <summary>
/// Feature importance I_i, computed on the host in double (deterministically, see <see cref="HostMath"/>)
/// and rounded once to float. Written as "uniform", "decay:R" or "power:K".
/// </summary>
public readonly record struct Importance(ImportanceKind Kind, double Parameter)
{
    /// <summary>I_i = 1 for every feature.</summary>
    public static Importance Uniform => new(ImportanceKind.Uniform, 0);
    /// <summary>I_i = r^i, r in (0, 1] (checked when a config is made, like every setting).</summary>
    public static Importance Decay(double r) => new(ImportanceKind.Decay, r);
    /// <summary>I_i = (i+1)^(-k/2), k in [0, 64].</summary>
    public static Importance Power(double k) => new(ImportanceKind.Power, k);

    /// <summary>The accepted forms and ranges, in the words error messages use.</summary>
    public const string Accepted = "uniform, decay:R with R in (0, 1], or power:K with K in [0, 64]";

    /// <summary>Parses "uniform", "decay:R" or "power:K"; throws <see cref="ConfigException"/> on anything else.</summary>
    /// <param name="text">The importance as <see cref="ToString"/> writes it.</param>
    /// <param name="field">The setting named by the exception.</param>
    public static Importance Parse(string text, string field = "InstanceSettings.Importance")
    {
        var parts = text.Split(':', 2);
        var value = parts.Length == 2 ? parts[1] : null;
        bool number = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x);
        Importance result = (parts[0], parts.Length, number) switch
        {
            ("uniform", 1, _) => Uniform,
            ("decay", 2, true) => Decay(x),
            ("power", 2, true) => Power(x),
            _ => throw new ConfigException(field, text, Accepted),
        };
        result.Validate(field);
        return result;
    }

    internal void Validate(string field = "InstanceSettings.Importance")
    {
        bool ok = Kind switch
        {
            ImportanceKind.Uniform => Parameter == 0,
            ImportanceKind.Decay => Parameter > 0 && Parameter <= 1,
            ImportanceKind.Power => Parameter >= 0 && Parameter <= 64,
            _ => false,
        };
        if (!ok) throw new ConfigException(field, ToString(), Accepted);
    }

    /// <summary>I_0 .. I_{n-1}, rounded to float.</summary>
    public float[] Compute(int n)
    {
        var importance = new float[n];
        for (int i = 0; i < n; i++)
        {
            double value = Kind switch
            {
                ImportanceKind.Decay => HostMath.PowInt(Parameter, i),
                ImportanceKind.Power => HostMath.Pow(i + 1, -Parameter / 2),
                _ => 1.0,
            };
            importance[i] = (float)value;
        }
        return importance;
    }

    /// <summary>The text <see cref="Parse"/> reads back: "uniform", "decay:R" or "power:K" (R and K round-trip).</summary>
    public override string ToString() => Kind switch
    {
        ImportanceKind.Decay => "decay:" + Parameter.ToString("R", CultureInfo.InvariantCulture),
        ImportanceKind.Power => "power:" + Parameter.ToString("R", CultureInfo.InvariantCulture),
        _ => "uniform",
    };
}
