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
    public static readonly StandardCase M = new("M", 4096, 512, 1024, 0.01);
    public static readonly StandardCase L = new("L", 16384, 2048, 256, 0.001);

    /// <summary>
    /// XL is tied: untied, its Adam state (2 x 2 x 65536 x 8192 floats) exceeds the 2^31 floats any buffer
    /// may hold, and <see cref="AutoencoderConfig"/> refuses it. Tied, the state is 2^30 floats and fits.
    /// </summary>
    public static readonly StandardCase XL = new("XL", 65536, 8192, 256, 0.001, Tied: true,
        Note: "tied: untied Adam state exceeds 2^31 floats (AutoencoderConfig refuses it)");

    public static IReadOnlyList<StandardCase> All { get; } = [Q, S, M, L, XL];

    /// <summary>"Q, S, M, L, XL", for messages.</summary>
    public static string Names => string.Join(", ", All.Select(c => c.Name));

    /// <summary>The case of that name (case-insensitive); <see cref="ConfigException"/> naming the accepted ones otherwise.</summary>
    public static StandardCase Get(string name) =>
        All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ConfigException("case", name, Names);
}
