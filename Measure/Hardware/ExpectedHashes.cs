using System.Text.Json;

namespace ToyModels.Measure.Hardware;

/// <summary>The recorded weights_sha256 of one case definition after <see cref="Steps"/> steps.</summary>
internal sealed record ExpectedHash(string Case, int N, int M, int Batch, double P, bool Tied, int Steps, string WeightsSha256, string RecordedWith)
{
    public bool Matches(BenchmarkCase c) =>
        Case == c.Name && N == c.N && M == c.M && Batch == c.Batch && P == c.P && Tied == c.Tied && Steps == c.Steps;
}

/// <summary>The file of expected hashes (Hardware/expected-hashes.json), written by <c>hardware --record</c>.</summary>
internal sealed record ExpectedHashes(string Note, IReadOnlyList<ExpectedHash> Cases)
{
    public const string DefaultNote =
        "weights_sha256 of each standard case after `steps` training steps (step indices 0 .. steps-1: warm-up plus timed), " +
        "recorded by `hardware --record` on the simd backend, which produces the reference backend's bits. Every device must reproduce them exactly.";

    public ExpectedHash? For(BenchmarkCase c) => Cases.FirstOrDefault(e => e.Matches(c));

    /// <exception cref="HardwareArgumentException">A missing or unreadable file.</exception>
    public static ExpectedHashes Read(string path)
    {
        if (!File.Exists(path)) throw new HardwareArgumentException($"--expected: no such file '{path}'");
        try
        {
            var hashes = JsonSerializer.Deserialize(File.ReadAllText(path), HardwareJson.Files.ExpectedHashes);
            if (hashes?.Cases is null) throw new JsonException("no \"cases\" list");
            return hashes;
        }
        catch (JsonException e) { throw new HardwareArgumentException($"--expected: '{path}' is not an expected-hash file: {e.Message}"); }
    }

    /// <summary>This file with <paramref name="recorded"/> replacing every entry of the case names recorded.</summary>
    public ExpectedHashes With(IEnumerable<ExpectedHash> recorded)
    {
        var fresh = recorded.ToList();
        var list = Cases.Where(old => !fresh.Any(e => e.Case == old.Case)).Concat(fresh).ToList();
        var order = HardwareOptions.CaseNames.ToList();
        return new ExpectedHashes(DefaultNote, list.OrderBy(e => order.IndexOf(e.Case)).ThenByDescending(e => e.Steps).ToList());
    }

    public void Write(string path) => ToyModels.IO.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, HardwareJson.Files.ExpectedHashes) + "\n");
}
