using System.Globalization;

namespace ToyModels.Tests.Fuzz;

/// <summary>
/// How much the fuzz tests try: TOYMODELS_FUZZ_COUNT cases per driver (default a few hundred, for CI), and
/// TOYMODELS_FUZZ_SEED, the first random seed (default 0; case k uses seed + k, so a failure names its seed).
/// </summary>
public static class FuzzSettings
{
    public static int Count(int fallback) => Read("TOYMODELS_FUZZ_COUNT", fallback, 1);

    public static int Seed => Read("TOYMODELS_FUZZ_SEED", 0, 0);

    private static int Read(string name, int fallback, int min)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(text)) return fallback;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min
            ? value
            : throw new InvalidOperationException($"{name}='{text}' is not an integer >= {min}");
    }

    /// <summary>Text as a C# literal would show it, for failure messages that reproduce the case.</summary>
    public static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
