using System.Text.Json;
using System.Text.Json.Serialization;

namespace ToyModels.Measure.Hardware;

/// <summary>How one case ended on one device.</summary>
internal static class CaseStatus
{
    /// <summary>Ran, and the weights_sha256 equals the recorded one.</summary>
    public const string Ok = "ok";
    /// <summary>Ran, and the weights differ from the recorded ones: a wrong bit on this device.</summary>
    public const string Mismatch = "MISMATCH";
    /// <summary>Ran, but no hash is recorded for this case definition (shape, settings, steps).</summary>
    public const string Unrecorded = "unrecorded";
    /// <summary>Not run, for the stated reason (too large, too slow for the budget, a refused device).</summary>
    public const string Skipped = "skipped";
    /// <summary>The backend threw while running.</summary>
    public const string Failed = "FAILED";
}

/// <summary>One case on one device. Rates are over the timed steps only; null where the case did not run.</summary>
internal sealed record CaseResult(
    string Case, string Shape, int WarmupSteps, int TimedSteps, string Status, string? Reason,
    double? SetupSeconds, double? TimedSeconds, double? StepsPerSecond, double? SamplesPerSecond,
    double? ExecutedGflops, double? DenseGflops, double? PercentOfPeak,
    double? NonzeroXPerSample, double? NonzeroGzPerSample, string? WeightsSha256, string? ExpectedSha256);

/// <summary>One device: its peaks and its cases.</summary>
internal sealed record DeviceResult(string Id, string Name, string? Backend, Peak? Peak, string? Unavailable, IReadOnlyList<CaseResult> Cases);

/// <summary>Everything one run of the hardware command found; the JSON file it writes.</summary>
internal sealed record HardwareReport(
    string Schema, string Mode, DateTime StartedUtc, double WallSeconds, string ExpectedFile,
    MachineDescription Machine, IReadOnlyList<DeviceResult> Devices, int Mismatches, int Failures)
{
    public const string CurrentSchema = "toymodels-hardware/1";

    public void Write(string path) => ToyModels.IO.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, HardwareJson.Files.HardwareReport) + "\n");

    /// <summary>Reads a result file. <exception cref="HardwareArgumentException">Missing, not JSON, or another schema.</exception></summary>
    public static HardwareReport Read(string path)
    {
        if (!File.Exists(path)) throw new HardwareArgumentException($"--compare: no such file '{path}'");
        HardwareReport? report;
        try { report = JsonSerializer.Deserialize(File.ReadAllText(path), HardwareJson.Files.HardwareReport); }
        catch (JsonException e) { throw new HardwareArgumentException($"--compare: '{path}' is not a hardware result file: {e.Message}"); }
        if (report is null || report.Schema != CurrentSchema || report.Devices is null || report.Machine is null)
            throw new HardwareArgumentException($"--compare: '{path}' is not a hardware result file (schema '{report?.Schema}', expected '{CurrentSchema}')");
        return report;
    }
}

/// <summary>
/// The JSON of the result and expected-hash files, generated at compile time (a trimmed publish has no
/// reflection-based serializer): snake_case names, NaN and infinities as named literals, no escaping of
/// what a terminal shows as it is.
/// </summary>
[JsonSerializable(typeof(HardwareReport))]
[JsonSerializable(typeof(ExpectedHashes))]
internal sealed partial class HardwareJson : JsonSerializerContext
{
    public static HardwareJson Files { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
