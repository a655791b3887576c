namespace ToyModels.Model;

/// <summary>
/// A named training shape of the benchmarks (hardware table, kernel suites, GPU verification, PyTorch
/// comparison): untied unless <see cref="Tied"/>, with bias, uniform importance, and <see cref="Defaults"/>
/// for everything else. How many steps each tool runs is the tool's own business.
/// </summary>
public sealed record StandardCase(string Name, int N, int M, int Batch, double P, bool Tied = false, string? Note = null)
{
    /// <summary>The run: instance s seeded with seed + s, the default learning rate and optimizer.</summary>
    public AutoencoderConfig Config(int instances = 1, ulong seed = 0) =>
        AutoencoderConfig.Create(N, M, P, Defaults.LearningRate(N), Tied, bias: true, batch: Batch, instances: instances, seed: seed);

    /// <summary>n, m, B and p, and "tied" when it is.</summary>
    public string Shape => FormattableString.Invariant($"n {N} m {M} B {Batch} p {P}{(Tied ? " tied" : "")}");
}

/// <summary>The one table of benchmark cases. Changing a shape changes every hash recorded for it.</summary>
public static class StandardCases
{
    /// <summary>A quick look: case S's model with a quarter of its batch.</summary>
    public static readonly StandardCase Q = new("Q", 512, 128, 256, 0.045);
    /// <summary>The default model (<see cref="Defaults"/>).</summary>
    public static readonly StandardCase S = new("S", Defaults.N, Defaults.M, Defaults.Batch, Defaults.P);
    /// <summary>Medium: n 4096, m 512, batch 1024, p 0.01.</summary>
    public static readonly StandardCase M = new("M", 4096, 512, 1024, 0.01);
    /// <summary>Large: n 16384, m 2048, batch 256, p 0.001.</summary>
    public static readonly StandardCase L = new("L", 16384, 2048, 256, 0.001);

    /// <summary>XL, tied: W is 2^29 floats, 2 GiB; with its Adam state about 6 GiB.</summary>
    public static readonly StandardCase XL = new("XL", 65536, 8192, 256, 0.001, Tied: true);

    /// <summary>
    /// XL untied: W_in and W_out are 2^30 floats, 4 GiB, and Adam's state 2^31 floats, more than one span holds, so
    /// the run exercises the 64-bit offsets; about 13 GiB in all.
    /// </summary>
    public static readonly StandardCase XLUntied = new("XL-untied", 65536, 8192, 256, 0.001,
        Note: "untied: 2^30 parameters and 2^31 floats of Adam state, about 13 GiB");

    /// <summary>No size a multiple of a vector or a tile: every kernel's edge paths run (kernel suites, the GPU verification's plumbing run).</summary>
    public static readonly StandardCase Ragged = new("ragged", 509, 37, 67, 0.05, Note: "no size a multiple of a vector or a tile");

    /// <summary>Every case, in the order tools list them.</summary>
    public static IReadOnlyList<StandardCase> All { get; } = [Q, S, M, L, XL, XLUntied, Ragged];

    /// <summary>"Q, S, M, L, XL, XL-untied, ragged", for messages.</summary>
    public static string Names => string.Join(", ", All.Select(c => c.Name));

    /// <summary>The case of that name (case-insensitive); <see cref="ConfigException"/> naming the accepted ones otherwise.</summary>
    public static StandardCase Get(string name) =>
        All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ConfigException("StandardCases.Get(name)", name, Names);
}
