using System.Security.Cryptography;
using System.Text;
using ToyModels.IO;
using ToyModels.Model;

namespace ToyModels.Sweeps;

/// <summary>
/// One run of a sweep: a one-instance config, its step count and evaluation size. Its identity is
/// <see cref="Id"/>, the first 16 hex digits of the SHA-256 of <see cref="IdentityJson"/> (the run's full
/// config), so a run is recognised across restarts, shards and grids whatever its position.
/// </summary>
public sealed class SweepRun
{
    public AutoencoderConfig Config { get; }
    public long Steps { get; }
    public int EvalSamples { get; }
    /// <summary>Position in the grid's run list (0-based).</summary>
    public int Index { get; }
    public string Id { get; }
    /// <summary>{"config": ConfigJson, "steps": S, "eval_samples": E}.</summary>
    public string IdentityJson { get; }
    /// <summary>Runs with the same key train together as instances of one config (everything but seed, p, lr and importance).</summary>
    public string ShapeKey { get; }

    public InstanceSettings Instance => Config.Instances[0];
    public int N => Config.N;
    public int M => Config.M;
    public double Ratio => (double)Config.M / Config.N;

    public SweepRun(AutoencoderConfig config, long steps, int evalSamples, int index)
    {
        if (config.InstanceCount != 1) throw new ArgumentException("a sweep run is one instance", nameof(config));
        Config = config; Steps = steps; EvalSamples = evalSamples; Index = index;
        IdentityJson = $"{{\"config\":{ConfigJson.Write(config)},\"steps\":{steps},\"eval_samples\":{evalSamples}}}";
        Id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(IdentityJson)))[..16];
        var shape = config.WithInstances([new InstanceSettings(0, 0, 1, Importance.Uniform)]);
        ShapeKey = $"{ConfigJson.Write(shape)}|{steps}|{evalSamples}";
    }

    public override string ToString() => $"run {Id}: n {N}, m {M}, p {Instance.P}, seed {Instance.Seed}";
}
