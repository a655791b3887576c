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
    /// <summary>The run's config: one instance.</summary>
    public AutoencoderConfig Config { get; }
    /// <summary>Optimizer steps to train.</summary>
    public long Steps { get; }
    /// <summary>Evaluation samples at the end (0: none).</summary>
    public int EvalSamples { get; }
    /// <summary>Position in the grid's run list (0-based).</summary>
    public int Index { get; }
    /// <summary>16 hex digits that identify the run by its config, steps and evaluation size.</summary>
    public string Id { get; }
    /// <summary>{"config": ConfigJson, "steps": S, "eval_samples": E}.</summary>
    public string IdentityJson { get; }
    /// <summary>Runs with the same key train together as instances of one config (everything but seed, p, lr and importance).</summary>
    public string ShapeKey { get; }

    /// <summary>The run's one instance: seed, p, learning rate, importance.</summary>
    public InstanceSettings Instance => Config.Instances[0];
    /// <summary>n: features.</summary>
    public int N => Config.N;
    /// <summary>m: hidden dimensions.</summary>
    public int M => Config.M;
    /// <summary>m / n.</summary>
    public double Ratio => (double)Config.M / Config.N;

    internal SweepRun(AutoencoderConfig config, long steps, int evalSamples, int index)
    {
        if (config.InstanceCount != 1) throw new ArgumentException("a sweep run is one instance", nameof(config));
        Config = config; Steps = steps; EvalSamples = evalSamples; Index = index;
        IdentityJson = $"{{\"config\":{ConfigJson.Write(config)},\"steps\":{steps},\"eval_samples\":{evalSamples}}}";
        Id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(IdentityJson)))[..16];
        var shape = config.WithInstances([new InstanceSettings(0, 0, 1, Importance.Uniform)]);
        ShapeKey = $"{ConfigJson.Write(shape)}|{steps}|{evalSamples}";
    }

    /// <summary>"run ID: n, m, p, seed", for messages.</summary>
    public override string ToString() => $"run {Id}: n {N}, m {M}, p {Instance.P}, seed {Instance.Seed}";
}
