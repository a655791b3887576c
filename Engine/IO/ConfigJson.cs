using System.Text;
using System.Text.Json;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// <see cref="AutoencoderConfig"/> as JSON (checkpoint metadata, summaries). Numbers round-trip exactly.
/// <code>
/// {"n":512,"m":128,"tied":false,"bias":true,"batch":1024,"init":"uniform",
///  "optimizer":{"kind":"adam","beta1":0.9,"beta2":0.999,"eps":1e-07,"weight_decay":0,"momentum":0},
///  "instances":[{"seed":0,"p":0.045,"lr":0.000132,"importance":"uniform"}]}
/// </code>
/// </summary>
public static class ConfigJson
{
    /// <summary>The config as one compact JSON object (the form above).</summary>
    public static string Write(AutoencoderConfig config)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
            Write(json, config);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes the config as a JSON object at the writer's current position (a value of a property, an array element).</summary>
    public static void Write(Utf8JsonWriter json, AutoencoderConfig config)
    {
        json.WriteStartObject();
        json.WriteNumber("n", config.N);
        json.WriteNumber("m", config.M);
        json.WriteBoolean("tied", config.Tied);
        json.WriteBoolean("bias", config.Bias);
        json.WriteNumber("batch", config.Batch);
        json.WriteString("init", InitName(config.Init));
        var o = config.Optimizer;
        json.WriteStartObject("optimizer");
        json.WriteString("kind", OptimizerSettings.Name(o.Kind));
        json.WriteNumber("beta1", o.Beta1);
        json.WriteNumber("beta2", o.Beta2);
        json.WriteNumber("eps", o.Eps);
        json.WriteNumber("weight_decay", o.WeightDecay);
        json.WriteNumber("momentum", o.Momentum);
        json.WriteEndObject();
        json.WriteStartArray("instances");
        foreach (var instance in config.Instances)
        {
            json.WriteStartObject();
            json.WriteNumber("seed", instance.Seed);
            json.WriteNumber("p", instance.P);
            json.WriteNumber("lr", instance.LearningRate);
            json.WriteString("importance", instance.Importance.ToString());
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The name <see cref="ParseInit"/> reads: uniform or xavier.</summary>
    public static string InitName(InitKind init) => init == InitKind.XavierNormal ? "xavier" : "uniform";

    /// <summary>uniform or xavier; anything else throws <see cref="ConfigException"/>.</summary>
    public static InitKind ParseInit(string text) => text switch
    {
        "uniform" => InitKind.Uniform,
        "xavier" => InitKind.XavierNormal,
        _ => throw new ConfigException("AutoencoderConfig.Init", text, "uniform or xavier"),
    };

    /// <summary>Parses and validates; a malformed document or a bad value throws <see cref="ConfigException"/>.</summary>
    public static AutoencoderConfig Parse(string text)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new ConfigException("config", "(unparseable)", $"a JSON object ({e.Message})"); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ConfigException("config", root.ValueKind, "a JSON object");
            var o = Required(root, "optimizer", JsonValueKind.Object);
            var optimizer = new OptimizerSettings
            {
                Kind = OptimizerSettings.Parse(Required(o, "kind", JsonValueKind.String).GetString()!),
                Beta1 = Number(o, "beta1"),
                Beta2 = Number(o, "beta2"),
                Eps = Number(o, "eps"),
                WeightDecay = Number(o, "weight_decay"),
                Momentum = Number(o, "momentum"),
            };
            var instances = new List<InstanceSettings>();
            foreach (var item in Required(root, "instances", JsonValueKind.Array).EnumerateArray())
            {
                var seed = Required(item, "seed", JsonValueKind.Number);
                if (!seed.TryGetUInt64(out ulong seedValue)) throw new ConfigException("seed", seed.GetRawText(), "an integer in [0, 2^64)");
                instances.Add(new InstanceSettings(seedValue, Number(item, "p"), Number(item, "lr"),
                    Importance.Parse(Required(item, "importance", JsonValueKind.String).GetString()!)));
            }
            return new AutoencoderConfig(Int(root, "n"), Int(root, "m"), Bool(root, "tied"), Bool(root, "bias"), Int(root, "batch"),
                instances, optimizer, ParseInit(Required(root, "init", JsonValueKind.String).GetString()!));
        }
    }

    private static JsonElement Required(JsonElement parent, string name, JsonValueKind kind)
    {
        if (!parent.TryGetProperty(name, out var value)) throw new ConfigException(name, null, $"a {kind.ToString().ToLowerInvariant()} (the field is missing)");
        if (value.ValueKind != kind) throw new ConfigException(name, value.GetRawText(), $"a {kind.ToString().ToLowerInvariant()}");
        return value;
    }

    private static double Number(JsonElement parent, string name) => Required(parent, name, JsonValueKind.Number).GetDouble();

    private static int Int(JsonElement parent, string name)
    {
        var value = Required(parent, name, JsonValueKind.Number);
        if (!value.TryGetInt32(out int result)) throw new ConfigException(name, value.GetRawText(), "an integer");
        return result;
    }

    private static bool Bool(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out var value) || (value.ValueKind != JsonValueKind.True && value.ValueKind != JsonValueKind.False))
            throw new ConfigException(name, parent.TryGetProperty(name, out var v) ? v.GetRawText() : null, "true or false");
        return value.GetBoolean();
    }
}
