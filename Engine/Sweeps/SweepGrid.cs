using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ToyModels.Model;

namespace ToyModels.Sweeps;

/// <summary>
/// A sweep's grid: a JSON object whose axes each hold one value or a list, expanded into the runs of every
/// combination. Parsing checks everything (syntax, unknown fields, every value, every run's config) before
/// anything trains; a problem is a <see cref="GridException"/> naming the file, the field and the reason.
/// </summary>
/// <remarks>
/// <code>
/// {
///   "name": "rug grid",                      label for the report (optional)
///   "n": 512,                                features: integer or list
///   "ratio": {"from": 0.05, "to": 1, "count": 20},   m = max(1, round(ratio n)); or "m": integer or list
///   "p": {"from": 0.001, "to": 0.5, "count": 20, "scale": "log"},   number, list or range
///   "importance": "uniform",                 uniform | decay:R | power:K, or a list
///   "tied": false, "bias": true,             or lists [false, true]
///   "lr": 0.0001,                            number, list or range; default Defaults.LearningRate(n)
///   "steps": 10000, "seed": [0, 1],          integers or lists
///   "batch": 1024, "init": "uniform", "eval_samples": 8192,
///   "optimizer": {"kind": "adam", "eps": 1e-7, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0, "momentum": 0}
/// }
/// </code>
/// Runs are listed with p varying fastest, then seed, steps, lr, importance, bias, tied, m (or ratio), n.
/// A range is {"from", "to", "count", "scale": "linear" (default) or "log"}, ends included.
/// What a grid leaves out comes from <see cref="Defaults"/> (n, m, p, batch, evaluation samples, the learning rate
/// and Adam's settings, <see cref="Defaults.ShortSteps"/> steps), untied with bias, uniform importance and init.
/// </remarks>
public sealed partial class SweepGrid
{
    /// <summary>Runs in grid order.</summary>
    public IReadOnlyList<SweepRun> Runs { get; }
    /// <summary>Where the grid came from (a file name, or "built-in default grid").</summary>
    public string Source { get; }
    /// <summary>The grid's "name" field, or its source when it has none.</summary>
    public string Name { get; }
    /// <summary>The grid file's JSON text, as given.</summary>
    public string Json { get; }
    /// <summary>SHA-256 over the run ids in grid order: equal for grids that describe the same runs.</summary>
    public string Sha256 { get; }
    /// <summary>true when the m axis was given as ratios m/n.</summary>
    public bool ByRatio { get; }

    private SweepGrid(IReadOnlyList<SweepRun> runs, string source, string name, string json, bool byRatio)
    {
        Runs = runs; Source = source; Name = name; Json = json; ByRatio = byRatio;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", runs.Select(r => r.Id)))));
    }

    /// <summary>The built-in grid: small enough to run in seconds on one core, big enough to draw every chart of the report.</summary>
    public const string DefaultJson = """
        {
          "name": "built-in default grid",
          "n": 32,
          "ratio": [0.125, 0.25, 0.5],
          "p": [0.01, 0.03, 0.1, 0.3],
          "batch": 256,
          "steps": 1500,
          "lr": 0.002,
          "eval_samples": 4096
        }
        """;

    /// <summary>The grid of <see cref="DefaultJson"/>: 12 runs.</summary>
    public static SweepGrid Default => Parse(DefaultJson, "built-in default grid");

    /// <summary>
    /// The most runs a grid may expand to unless the caller allows more: enough for a large sweep, small
    /// enough that expanding and checking the grid takes seconds and little memory (each run holds a config).
    /// </summary>
    public const long DefaultMaxRuns = 100_000;

    /// <summary>Reads and expands the grid file at <paramref name="path"/>.</summary>
    /// <param name="path">The grid file (JSON; comments and trailing commas allowed).</param>
    /// <param name="maxRuns">A grid of more runs is refused, naming its run count, before any run is expanded.</param>
    /// <exception cref="GridException">The file cannot be read, is not valid JSON, or holds a field or value out of range.</exception>
    public static SweepGrid Load(string path, long maxRuns = DefaultMaxRuns)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new GridException(path, "(file)", $"cannot read: {(e is UnauthorizedAccessException ? "permission denied, or a folder" : e.Message)}");
        }
        return Parse(text, path, maxRuns);
    }

    private static readonly HashSet<string> Fields = ["name", "n", "m", "ratio", "p", "importance", "tied", "bias", "lr", "steps", "seed",
        "batch", "init", "eval_samples", "optimizer"];
    private static readonly HashSet<string> OptimizerFields = ["kind", "eps", "beta1", "beta2", "weight_decay", "momentum"];

    /// <summary>The engine's setting names in <paramref name="text"/> (a <see cref="ConfigException"/>'s field or accepted values) as the grid's keys.</summary>
    private static string GridField(string text) => SettingName().Replace(text, m => m.Groups[1].Value switch
    {
        "LearningRate" => "lr",
        "WeightDecay" => "weight_decay",
        var name => name.ToLowerInvariant(),
    });

    [GeneratedRegex(@"\b(?:AutoencoderConfig|InstanceSettings|OptimizerSettings|OptimizerKind)\.(\w+)")]
    private static partial Regex SettingName();

    /// <summary>Expands a grid given as JSON text.</summary>
    /// <param name="json">The grid (comments and trailing commas allowed).</param>
    /// <param name="source">Where it came from, for <see cref="Source"/> and error messages.</param>
    /// <param name="maxRuns">A grid of more runs is refused, naming its run count, before any run is expanded.</param>
    /// <exception cref="GridException">Not valid JSON, or a field or value out of range.</exception>
    public static SweepGrid Parse(string json, string source, long maxRuns = DefaultMaxRuns)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new GridException(source, "(syntax)", $"not valid JSON: {e.Message}"); }
        using (document)
        {
            var reader = new Reader(source);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw reader.Error("(root)", "the grid must be a JSON object");
            reader.NoRepeatedFields(root, "");
            foreach (var property in root.EnumerateObject())
                if (!Fields.Contains(property.Name))
                    throw reader.Error(property.Name, $"unknown field; known fields: {string.Join(", ", Fields)}");

            string name = root.TryGetProperty("name", out var nameElement)
                ? (nameElement.ValueKind == JsonValueKind.String ? nameElement.GetString()! : throw reader.Error("name", "a string"))
                : source;
            var ns = reader.Integers(root, "n", [Defaults.N], 1, int.MaxValue);
            bool byRatio = root.TryGetProperty("ratio", out _);
            if (byRatio && root.TryGetProperty("m", out _)) throw reader.Error("m", "give either m or ratio, not both");
            var ms = byRatio ? null : reader.Integers(root, "m", [Defaults.M], 1, int.MaxValue);
            var ratios = byRatio ? reader.Numbers(root, "ratio", [], v => v > 0 && double.IsFinite(v), "a number > 0") : null;
            var ps = reader.Numbers(root, "p", [Defaults.P], v => v >= 0 && v <= 1, "a number in [0, 1]");
            var importances = reader.Strings(root, "importance", ["uniform"]).Select((t, k) => reader.Importance(t.Value, t.Field)).ToList();
            var tieds = reader.Booleans(root, "tied", [false]);
            var biases = reader.Booleans(root, "bias", [true]);
            var lrs = root.TryGetProperty("lr", out _) ? reader.Numbers(root, "lr", [], v => v > 0 && double.IsFinite(v), "a finite number > 0") : null;
            var stepsList = reader.Integers(root, "steps", [Defaults.ShortSteps], 1, AutoencoderConfig.MaxSteps);
            var seeds = reader.Seeds(root, "seed");
            long batch = reader.Single(reader.Integers(root, "batch", [Defaults.Batch], 1, int.MaxValue), "batch");
            long evalSamples = reader.Single(reader.Integers(root, "eval_samples", [Defaults.EvalSamples], 0, int.MaxValue), "eval_samples");
            string initText = reader.Single(reader.Strings(root, "init", ["uniform"]).Select(t => t.Value).ToList(), "init");
            var init = initText switch { "uniform" => InitKind.Uniform, "xavier" => InitKind.XavierNormal, _ => throw reader.Error("init", $"'{initText}' is invalid; accepted: uniform or xavier") };
            var optimizer = reader.Optimizer(root);

            // Counted from the axes before anything is expanded, so a grid of 10^10 runs is refused at once.
            double count = (double)ns.Count * (byRatio ? ratios!.Count : ms!.Count) * tieds.Count * biases.Count * importances.Count
                * (lrs?.Count ?? 1) * stepsList.Count * seeds.Count * ps.Count;
            if (count > maxRuns)
                throw reader.Error("(grid)", string.Create(CultureInfo.InvariantCulture,
                    $"{count:0.###############} runs, more than the limit of {maxRuns}; split the grid, or raise the limit (SweepGrid.Load(maxRuns))"));

            var runs = new List<SweepRun>();
            var seen = new Dictionary<string, SweepRun>();
            foreach (long n in ns)
                foreach (var (m, mField) in byRatio
                             ? ratios!.Select((r, k) => ((long)Math.Max(1, Math.Round(r * n)), $"ratio[{k}]"))
                             : ms!.Select((v, k) => (v, $"m[{k}]")))
                    foreach (bool tied in tieds)
                        foreach (bool bias in biases)
                            foreach (var importance in importances)
                                foreach (double lr in lrs ?? [Defaults.LearningRate((int)n)])
                                    foreach (long steps in stepsList)
                                        foreach (ulong seed in seeds)
                                            foreach (double p in ps)
                                            {
                                                AutoencoderConfig config;
                                                try
                                                {
                                                    config = new AutoencoderConfig((int)n, (int)m, tied, bias, (int)batch,
                                                        [new InstanceSettings(seed, p, lr, importance)], optimizer, init);
                                                }
                                                catch (ConfigException e)
                                                {
                                                    throw reader.Error(e.Field == "AutoencoderConfig.M" ? mField : GridField(e.Field), $"{e.Value} is invalid for n {n}, m {m}; accepted: {e.Accepted}");
                                                }
                                                var run = new SweepRun(config, steps, (int)evalSamples, runs.Count);
                                                if (seen.TryGetValue(run.Id, out var twin))
                                                    throw reader.Error(byRatio ? "ratio" : "(grid)",
                                                        $"runs {twin.Index} and {run.Index} are the same run (n {n}, m {m}, p {p}, seed {seed}); " +
                                                        (byRatio ? "two ratios round to the same m" : "an axis lists a value twice"));
                                                seen[run.Id] = run;
                                                runs.Add(run);
                                            }
            return new SweepGrid(runs, source, name, json, byRatio);
        }
    }

    /// <summary>Reads and checks values, naming the field path in every error.</summary>
    private sealed class Reader(string source)
    {
        public GridException Error(string field, string reason) => new(source, field, reason);

        private List<(JsonElement Value, string Field)> Values(JsonElement parent, string name)
        {
            if (!parent.TryGetProperty(name, out var element)) return [];
            if (element.ValueKind != JsonValueKind.Array) return [(element, name)];
            var list = element.EnumerateArray().Select((e, k) => (e, $"{name}[{k}]")).ToList();
            if (list.Count == 0) throw Error(name, "an empty list; give at least one value");
            return list;
        }

        public List<double> Numbers(JsonElement parent, string name, List<double> fallback, Func<double, bool> valid, string accepted)
        {
            if (!parent.TryGetProperty(name, out var element)) return fallback;
            var result = new List<double>();
            if (element.ValueKind == JsonValueKind.Object) result.AddRange(Range(element, name, valid, accepted));
            else
                foreach (var (value, field) in Values(parent, name))
                {
                    if (value.ValueKind != JsonValueKind.Number) throw Error(field, $"{value.GetRawText()} is invalid; accepted: {accepted}");
                    double v = value.GetDouble();
                    if (!valid(v)) throw Error(field, $"{value.GetRawText()} is invalid; accepted: {accepted}");
                    result.Add(v);
                }
            NoDuplicates(result, name);
            return result;
        }

        private IEnumerable<double> Range(JsonElement element, string name, Func<double, bool> valid, string accepted)
        {
            double from = double.NaN, to = double.NaN;
            long count = -1;
            string scale = "linear";
            foreach (var property in element.EnumerateObject())
            {
                string field = $"{name}.{property.Name}";
                var v = property.Value;
                switch (property.Name)
                {
                    case "from" when v.ValueKind == JsonValueKind.Number: from = v.GetDouble(); break;
                    case "to" when v.ValueKind == JsonValueKind.Number: to = v.GetDouble(); break;
                    case "count" when v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long c) && c >= 1 && c <= 100_000: count = c; break;
                    case "count": throw Error(field, $"{v.GetRawText()} is invalid; accepted: an integer in [1, 100000]");
                    case "scale" when v.ValueKind == JsonValueKind.String && v.GetString() is "linear" or "log": scale = v.GetString()!; break;
                    case "scale": throw Error(field, $"{v.GetRawText()} is invalid; accepted: \"linear\" or \"log\"");
                    case "from" or "to": throw Error(field, $"{v.GetRawText()} is invalid; accepted: a number");
                    default: throw Error(field, "unknown field of a range; known: from, to, count, scale");
                }
            }
            if (double.IsNaN(from)) throw Error($"{name}.from", "missing; a range needs from, to and count");
            if (double.IsNaN(to)) throw Error($"{name}.to", "missing; a range needs from, to and count");
            if (count < 0) throw Error($"{name}.count", "missing; a range needs from, to and count");
            if (!valid(from)) throw Error($"{name}.from", $"{from.ToString("R", CultureInfo.InvariantCulture)} is invalid; accepted: {accepted}");
            if (!valid(to)) throw Error($"{name}.to", $"{to.ToString("R", CultureInfo.InvariantCulture)} is invalid; accepted: {accepted}");
            if (scale == "log" && !(from > 0 && to > 0)) throw Error($"{name}.scale", "log needs from and to > 0");
            for (long k = 0; k < count; k++)
            {
                double t = count == 1 ? 0 : (double)k / (count - 1);
                yield return k == count - 1 ? to : scale == "log" ? from * Math.Pow(to / from, t) : from + (to - from) * t;
            }
        }

        public List<long> Integers(JsonElement parent, string name, List<long> fallback, long min, long max)
        {
            var values = Values(parent, name);
            if (values.Count == 0) return fallback;
            var result = new List<long>();
            foreach (var (value, field) in values)
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long v) || v < min || v > max)
                    throw Error(field, $"{value.GetRawText()} is invalid; accepted: an integer in [{min}, {max}]");
                result.Add(v);
            }
            NoDuplicates(result, name);
            return result;
        }

        public List<ulong> Seeds(JsonElement parent, string name)
        {
            var values = Values(parent, name);
            if (values.Count == 0) return [0];
            var result = new List<ulong>();
            foreach (var (value, field) in values)
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetUInt64(out ulong v))
                    throw Error(field, $"{value.GetRawText()} is invalid; accepted: an integer in [0, 18446744073709551615]");
                result.Add(v);
            }
            NoDuplicates(result, name);
            return result;
        }

        public List<bool> Booleans(JsonElement parent, string name, List<bool> fallback)
        {
            var values = Values(parent, name);
            if (values.Count == 0) return fallback;
            var result = values.Select(t => t.Value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error(t.Field, $"{t.Value.GetRawText()} is invalid; accepted: true or false"),
            }).ToList();
            NoDuplicates(result, name);
            return result;
        }

        public List<(string Value, string Field)> Strings(JsonElement parent, string name, List<string> fallback)
        {
            var values = Values(parent, name);
            if (values.Count == 0) return fallback.Select(v => (v, name)).ToList();
            var result = values.Select(t => t.Value.ValueKind == JsonValueKind.String ? (t.Value.GetString()!, t.Field)
                : throw Error(t.Field, $"{t.Value.GetRawText()} is invalid; accepted: a string")).ToList();
            NoDuplicates(result.Select(r => r.Item1).ToList(), name);
            return result;
        }

        public Importance Importance(string text, string field)
        {
            try { return Model.Importance.Parse(text, field); }
            catch (ConfigException e) { throw Error(field, $"'{text}' is invalid; accepted: {e.Accepted}"); }
        }

        public T Single<T>(List<T> values, string name) =>
            values.Count == 1 ? values[0] : throw Error(name, "one value (this setting is shared by the whole grid, not an axis)");

        public OptimizerSettings Optimizer(JsonElement root)
        {
            var settings = new OptimizerSettings();
            if (!root.TryGetProperty("optimizer", out var o)) return settings;
            if (o.ValueKind != JsonValueKind.Object) throw Error("optimizer", "an object such as {\"kind\": \"adam\", \"eps\": 1e-7}");
            foreach (var property in o.EnumerateObject())
            {
                string field = "optimizer." + property.Name;
                if (!OptimizerFields.Contains(property.Name)) throw Error(field, $"unknown field; known: {string.Join(", ", OptimizerFields)}");
                var v = property.Value;
                if (property.Name == "kind")
                {
                    settings = settings with
                    {
                        Kind = v.ValueKind == JsonValueKind.String && v.GetString() is "adam" or "adamw" or "sgd"
                            ? OptimizerSettings.Parse(v.GetString()!)
                            : throw Error(field, $"{v.GetRawText()} is invalid; accepted: \"adam\", \"adamw\" or \"sgd\""),
                    };
                    continue;
                }
                if (v.ValueKind != JsonValueKind.Number) throw Error(field, $"{v.GetRawText()} is invalid; accepted: a number");
                double x = v.GetDouble();
                settings = property.Name switch
                {
                    "eps" => settings with { Eps = x },
                    "beta1" => settings with { Beta1 = x },
                    "beta2" => settings with { Beta2 = x },
                    "weight_decay" => settings with { WeightDecay = x },
                    _ => settings with { Momentum = x },
                };
            }
            try { settings.Validate(); }
            catch (ConfigException e)
            {
                throw Error("optimizer." + GridField(e.Field), $"{e.Value} is invalid; accepted: {GridField(e.Accepted)}");
            }
            return settings;
        }

        /// <summary>A field given twice in one object is refused: JSON readers disagree on which one counts.</summary>
        public void NoRepeatedFields(JsonElement element, string path)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray()) NoRepeatedFields(item, path);
                return;
            }
            if (element.ValueKind != JsonValueKind.Object) return;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                string field = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                if (!names.Add(property.Name)) throw Error(field, "given twice; each field at most once");
                NoRepeatedFields(property.Value, field);
            }
        }

        private void NoDuplicates<T>(List<T> values, string name)
        {
            var seen = new HashSet<T>();
            foreach (var v in values)
                if (!seen.Add(v)) throw Error(name, $"the value {Convert.ToString(v, CultureInfo.InvariantCulture)} appears twice");
        }
    }
}
