using System.Text;
using System.Text.Json.Nodes;
using ToyModels.Sweeps;
using ToyModels.Tests.Support;
using Xunit.Abstractions;

namespace ToyModels.Tests.Fuzz;

/// <summary>
/// Mutated grid files through the grid loader: each is either a grid (at most the run limit, every run a valid
/// config) or a <see cref="GridException"/> with a one-line message naming the file; never another exception.
/// A few go through Samples/Sweep --plan, which must exit 0 or 2 with one line and no stack trace.
/// </summary>
public class GridFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-gridfuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const long MaxRuns = 2000;

    private static readonly string[] Seeds =
    [
        SweepGrid.DefaultJson,
        """{"name": "rug", "n": 64, "ratio": {"from": 0.05, "to": 1.0, "count": 6}, "p": {"from": 0.001, "to": 0.5, "count": 5, "scale": "log"}, "seed": [0, 1], "steps": 100}""",
        """
        { // comments and trailing commas
          "n": [16, 32], "m": [2, 4], "p": [0.05, 0.1,], "importance": ["uniform", "decay:0.9", "power:1"], "tied": [false, true], "bias": [true, false],
          "lr": [0.001, 0.01], "steps": [10, 20], "batch": 8, "init": "xavier", "eval_samples": 0,
          "optimizer": {"kind": "adamw", "eps": 1e-8, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.01, "momentum": 0},
        }
        """,
        """{"n": 12, "m": 3, "optimizer": {"kind": "sgd", "momentum": 0.9}, "lr": {"from": 0.1, "to": 1, "count": 3}}""",
    ];

    private static readonly string[] Literals =
    [
        "0", "-1", "1", "0.5", "1.5", "1e309", "-1e309", "1e-320", "2147483647", "2147483648", "9223372036854775808", "18446744073709551616",
        "100000", "1e8", "NaN", "\"NaN\"", "null", "true", "false", "\"\"", "[]", "{}", "[1, 1]", "[0.1, 0.2, 0.3]", "\"decay:2\"", "\"decay:0.5\"",
        "\"power:1e308\"", "\"xavier\"", "\"sgd\"", "\"p\\nq\"", "{\"from\": 0.01, \"to\": 0.5, \"count\": 100000}",
        "{\"from\": 1e-300, \"to\": 1e300, \"count\": 3, \"scale\": \"log\"}", "{\"from\": 0, \"to\": 1}", "{\"count\": 1e10}", "[[1]]", "[{}]",
    ];

    private static readonly string[] Fields = ["name", "n", "m", "ratio", "p", "importance", "tied", "bias", "lr", "steps", "seed", "batch", "init",
        "eval_samples", "optimizer", "kind", "eps", "beta1", "from", "to", "count", "scale", "unknown"];

    /// <summary>One mutation of one seed grid, chosen by <paramref name="random"/>; the description says what was done.</summary>
    public static (string Json, string What) Mutate(Random random)
    {
        string text = Seeds[random.Next(Seeds.Length)];
        int at = random.Next(text.Length + 1);
        switch (random.Next(7))
        {
            case 0:
                var chars = text.ToCharArray();
                chars[Math.Min(at, chars.Length - 1)] = "{}[]:,\"0123456789.-+eE \\/tfn\n"[random.Next(29)];
                return (new string(chars), $"character at {at} replaced");
            case 1:
                return (text[..at], $"truncated at {at}");
            case 2:
                string literal = Literals[random.Next(Literals.Length)];
                return (text[..at] + literal + text[at..], $"{literal} inserted at {at}");
            case 3:
                int length = random.Next(1, 12);
                return (text[..at] + text[Math.Min(text.Length, at + length)..], $"{length} characters deleted at {at}");
            case 4:
                // A repeated field: JSON readers disagree on which copy counts.
                int brace = text.IndexOf('{');
                string field = Fields[random.Next(Fields.Length)];
                return (text[..(brace + 1)] + $"\"{field}\": {Literals[random.Next(Literals.Length)]}, " + text[(brace + 1)..], $"field {field} added first");
            default:
                return Replace(text, random);
        }
    }

    /// <summary>A value somewhere in the grid (an axis, a list item, a range or optimizer field) replaced by an awkward literal.</summary>
    private static (string, string) Replace(string text, Random random)
    {
        var root = JsonNode.Parse(text, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })!;
        var slots = new List<(JsonNode Parent, object Key, string Path)>();
        void Collect(JsonNode node, string path)
        {
            if (node is JsonObject o)
                foreach (var (key, child) in o.ToList())
                {
                    slots.Add((o, key, $"{path}.{key}"));
                    if (child is not null) Collect(child, $"{path}.{key}");
                }
            else if (node is JsonArray a)
                for (int k = 0; k < a.Count; k++)
                {
                    slots.Add((a, k, $"{path}[{k}]"));
                    if (a[k] is { } child) Collect(child, $"{path}[{k}]");
                }
        }
        Collect(root, "");
        var (parent, slot, where) = slots[random.Next(slots.Count)];
        string literal = Literals[random.Next(Literals.Length)];
        var value = JsonNode.Parse(literal == "NaN" ? "\"NaN\"" : literal);
        if (random.Next(8) == 0 && parent is JsonObject removeFrom) { removeFrom.Remove((string)slot); return (root.ToJsonString(), $"{where} removed"); }
        if (parent is JsonObject obj) obj[(string)slot] = value;
        else ((JsonArray)parent)[(int)slot] = value;
        return (root.ToJsonString(), $"{where} = {literal}");
    }

    /// <summary>
    /// Loads the text as a grid file; true when it is refused cleanly, false when it loads as a grid; fails the test,
    /// reproducibly, on anything else.
    /// </summary>
    public static bool Refused(string json, string what)
    {
        try
        {
            var grid = SweepGrid.Parse(json, "fuzz.json", MaxRuns);
            Assert.InRange(grid.Runs.Count, 1, MaxRuns);
            Assert.All(grid.Runs, run => Assert.Equal(1, run.Config.InstanceCount));
            return false;
        }
        catch (GridException e)
        {
            Assert.True(e.Message.StartsWith("fuzz.json: ", StringComparison.Ordinal) && !e.Message.Contains('\n'),
                $"{what}: the message is not one line naming the file: {FuzzSettings.Quote(e.Message)}");
            return true;
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}\ngrid: {FuzzSettings.Quote(json)}");
            return false;
        }
    }

    [Fact]
    public void Mutated_grids_are_loaded_or_refused_with_one_line_naming_the_field()
    {
        int count = FuzzSettings.Count(300), seed = FuzzSettings.Seed, refused = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int k = 0; k < count; k++)
        {
            var (json, what) = Mutate(new Random(seed + k));
            if (Refused(json, $"case {seed + k} ({what})")) refused++;
        }
        output.WriteLine($"{count} mutated grids (seeds {seed} ..): {refused} refused, {count - refused} loaded, in {clock.Elapsed.TotalSeconds:F2} s");
        if (count >= 100) Assert.InRange(refused, count / 4, count - 1); // the mutations reach both outcomes
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Mutated_grids_through_the_program_exit_0_or_2_with_one_line()
    {
        for (int k = 0; k < 3; k++)
        {
            var (json, what) = Mutate(new Random(1_000_000 + FuzzSettings.Seed + k));
            string grid = Path.Combine(_folder, $"grid{k}.json");
            File.WriteAllText(grid, json, Encoding.UTF8);
            var result = SampleProcess.Run("sweep", ["--grid", grid, "--plan"], timeoutSeconds: 120);
            string context = $"{what}: exit {result.ExitCode}, stderr {FuzzSettings.Quote(result.Error)}, grid {FuzzSettings.Quote(json)}";
            Assert.True(result.ExitCode is 0 or 2, context);
            Assert.DoesNotContain("   at ", result.Error);
            if (result.ExitCode == 2) Assert.True(result.Error.Trim().Split('\n') is [var line] && line.StartsWith($"error: {grid}: ", StringComparison.Ordinal), context);
        }
    }
}
