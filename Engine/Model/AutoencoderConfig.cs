namespace ToyModels.Model;

/// <summary>How the parameters of every instance are drawn at step 0 (from the instance's seed, data stream v1).</summary>
public enum InitKind
{
    /// <summary>PyTorch nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W_in, W_out and b (the Persian Rug code).</summary>
    Uniform,
    /// <summary>Xavier-normal: N(0, 2 / (n + m)) for the matrices, b = 0 (Anthropic's notebook).</summary>
    XavierNormal,
}

/// <summary>
/// One training run of the toy model of superposition (numerics.md rule 0): shapes, tying, bias,
/// batch, initialisation, optimizer, and the instances packed side by side. Validated on
/// construction: every bad value throws <see cref="ConfigException"/> naming the field, the value
/// and the accepted range, before anything is allocated.
/// </summary>
public sealed class AutoencoderConfig
{
    /// <summary>
    /// The most bytes a run's buffers may add up to: far beyond any machine, and low enough that every size and
    /// offset of the engine is a long without overflow. Whether a run fits the memory actually available is
    /// checked when its backend is made (<see cref="Memory.MemoryCheck"/>).
    /// </summary>
    public const long MaxBytes = 1L << 60;

    /// <summary>Steps and sample indices are 32-bit counter words of data stream v1.</summary>
    public const long MaxSteps = uint.MaxValue;

    /// <summary>n: features.</summary>
    public int N { get; }
    /// <summary>m: hidden dimensions.</summary>
    public int M { get; }
    /// <summary>Whether W_out is W_in^T (one matrix, x' = ReLU(W^T W x + b)) rather than a matrix of its own.</summary>
    public bool Tied { get; }
    /// <summary>Whether the output has a bias b (n floats per instance); without it x' = ReLU(W_out W_in x).</summary>
    public bool Bias { get; }
    /// <summary>B: samples per optimizer step (per instance).</summary>
    public int Batch { get; }
    /// <summary>How the parameters are drawn at step 0.</summary>
    public InitKind Init { get; }
    /// <summary>The optimizer every instance uses (each with its own learning rate, <see cref="InstanceSettings.LearningRate"/>).</summary>
    public OptimizerSettings Optimizer { get; }
    /// <summary>The instances trained side by side, at least one: instance s has its own seed, p, learning rate and importance.</summary>
    public IReadOnlyList<InstanceSettings> Instances { get; }
    /// <summary>k: the number of instances (at least 1).</summary>
    public int InstanceCount => Instances.Count;
    /// <summary>Where each instance's W_in, W_out and b lie in the flat parameter buffer of every backend and checkpoint.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>A run whose instances may differ in seed, p, learning rate and importance.</summary>
    /// <param name="n">Features, at least 1.</param>
    /// <param name="m">Hidden dimensions, at least 1.</param>
    /// <param name="tied">W_out = W_in^T.</param>
    /// <param name="bias">An output bias b.</param>
    /// <param name="batch">Samples per step per instance, at least 1.</param>
    /// <param name="instances">One entry per instance, at least one; copied.</param>
    /// <param name="optimizer">The optimizer; null for Adam with <see cref="Defaults"/>.</param>
    /// <param name="init">The initialisation.</param>
    /// <exception cref="ConfigException">A value out of range, or a training state over <see cref="MaxBytes"/>.</exception>
    public AutoencoderConfig(int n, int m, bool tied, bool bias, int batch, IReadOnlyList<InstanceSettings> instances,
        OptimizerSettings? optimizer = null, InitKind init = InitKind.Uniform)
    {
        optimizer ??= new OptimizerSettings();
        if (n < 1) throw new ConfigException("AutoencoderConfig.N", n, "an integer >= 1");
        if (m < 1) throw new ConfigException("AutoencoderConfig.M", m, "an integer >= 1");
        if (batch < 1) throw new ConfigException("AutoencoderConfig.Batch", batch, "an integer >= 1");
        if (instances is null || instances.Count < 1) throw new ConfigException("AutoencoderConfig.Instances", instances?.Count ?? 0, "an integer >= 1");
        if (!Enum.IsDefined(init)) throw new ConfigException("AutoencoderConfig.Init", init, "uniform or xavier");
        optimizer.Validate();
        for (int s = 0; s < instances.Count; s++)
            instances[s].Validate(instances.Count == 1 ? "InstanceSettings." : $"AutoencoderConfig.Instances[{s}].");
        CheckSizes(n, m, tied, bias, batch, instances.Count, optimizer.StateSlots);

        N = n; M = m; Tied = tied; Bias = bias; Batch = batch; Init = init;
        Optimizer = optimizer;
        Instances = instances.ToArray();
        Layout = new ParameterLayout(n, m, tied, bias, instances.Count);
    }

    /// <summary>
    /// The usual way to make a run: k instances that share p, lr and importance, instance s seeded
    /// with seed + s (so each gets exactly what it would get trained alone with that seed). What is left
    /// out comes from <see cref="Defaults"/> (lr: <see cref="Defaults.LearningRate"/> of n).
    /// </summary>
    /// <param name="n">Features, at least 1.</param>
    /// <param name="m">Hidden dimensions, at least 1.</param>
    /// <param name="p">Probability that a feature is active in a sample, in [0, 1].</param>
    /// <param name="lr">Learning rate, finite and &gt; 0; null for <see cref="Defaults.LearningRate"/>(n).</param>
    /// <param name="tied">W_out = W_in^T.</param>
    /// <param name="bias">An output bias b.</param>
    /// <param name="batch">Samples per step per instance, at least 1.</param>
    /// <param name="instances">k, in [1, 2^20].</param>
    /// <param name="seed">Instance s is seeded seed + s (wrapping).</param>
    /// <param name="importance">Feature importance; null for uniform.</param>
    /// <param name="optimizer">The optimizer; null for Adam with <see cref="Defaults"/>.</param>
    /// <param name="init">The initialisation.</param>
    /// <exception cref="ConfigException">A value out of range, or a training state over <see cref="MaxBytes"/>.</exception>
    public static AutoencoderConfig Create(int n, int m, double p, double? lr = null, bool tied = false, bool bias = true,
        int batch = Defaults.Batch, int instances = 1, ulong seed = 0, Importance? importance = null,
        OptimizerSettings? optimizer = null, InitKind init = InitKind.Uniform)
    {
        if (n < 1) throw new ConfigException("AutoencoderConfig.N", n, "an integer >= 1");
        if (instances < 1) throw new ConfigException("AutoencoderConfig.Instances", instances, "an integer >= 1");
        if (instances > 1 << 20) throw new ConfigException("AutoencoderConfig.Instances", instances, "an integer in [1, 1048576]");
        var list = new InstanceSettings[instances];
        for (int s = 0; s < instances; s++)
            list[s] = new InstanceSettings(unchecked(seed + (ulong)s), p, lr ?? Defaults.LearningRate(n), importance ?? Importance.Uniform);
        return new AutoencoderConfig(n, m, tied, bias, batch, list, optimizer, init);
    }

    /// <summary>This run's instance s as a run of its own (same shapes and optimizer, one instance).</summary>
    public AutoencoderConfig Single(int s) => new(N, M, Tied, Bias, Batch, new[] { Instances[s] }, Optimizer, Init);

    /// <summary>The same run with other instances (used by sweeps to pack runs of one shape).</summary>
    public AutoencoderConfig WithInstances(IReadOnlyList<InstanceSettings> instances) => new(N, M, Tied, Bias, Batch, instances, Optimizer, Init);

    /// <summary>
    /// Bytes of one training state, backend-independent: parameters, gradients, optimizer state and one batch of
    /// activations (x, z, g_z and h, g_h). Sweeps size their packs by it; the peak memory of a run on a given
    /// backend is <see cref="Memory.MemoryEstimate"/>'s.
    /// </summary>
    public long EstimatedBytes => (long)StateBytes(N, M, Tied, Bias, Batch, InstanceCount, Optimizer.StateSlots);

    private static double StateBytes(double n, double m, bool tied, bool bias, double batch, double k, int slots)
    {
        double perInstance = m * n + (tied ? 0 : n * m) + (bias ? n : 0);
        return 4 * (k * perInstance * (2 + slots) + k * batch * (3 * n + 2 * m));
    }

    /// <summary>Sizes are counted in doubles first, so that no product overflows before it is refused.</summary>
    private static void CheckSizes(long n, long m, bool tied, bool bias, long batch, long k, int slots)
    {
        double bytes = StateBytes(n, m, tied, bias, batch, k, slots);
        if (bytes > MaxBytes)
            throw new ConfigException("AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Batch, AutoencoderConfig.Instances", $"{n}, {m}, {batch}, {k} ({bytes:G3} bytes of training state)",
                $"sizes whose training state is at most 2^60 bytes");
    }
}
