using ToyModels.Model;

namespace ToyModels.Measure.Tools;

/// <summary>
/// The standard cases S, M, L, XL and ragged (<see cref="StandardCases"/>; the library's <see cref="Defaults"/> for the rest).
/// </summary>
public sealed record BenchCase(string Name, int N, int M, int Batch, double P, bool Tied = false)
{
    public static readonly BenchCase Small = Of(StandardCases.S);
    public static readonly BenchCase Medium = Of(StandardCases.M);
    public static readonly BenchCase Large = Of(StandardCases.L);
    public static readonly BenchCase ExtraLarge = Of(StandardCases.XL);
    /// <summary>No size a multiple of a vector or a tile: every kernel's edge paths run.</summary>
    public static readonly BenchCase Ragged = Of(StandardCases.Ragged);

    public static readonly BenchCase[] All = [Small, Medium, Large, ExtraLarge, Ragged];

    private static BenchCase Of(StandardCase c) => new(c.Name, c.N, c.M, c.Batch, c.P, c.Tied);

    public static BenchCase Parse(string name) =>
        All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"case '{name}' is not one of {string.Join(", ", All.Select(c => c.Name))}");

    /// <param name="instances">Instance s is seeded with s, as Samples/Train --instances does.</param>
    public AutoencoderConfig Config(int instances = 1) => AutoencoderConfig.Create(N, M, P, tied: Tied, batch: Batch, instances: instances);

    public override string ToString() => $"{Name} (n {N}, m {M}, B {Batch}, p {P}{(Tied ? ", tied" : "")})";
}
