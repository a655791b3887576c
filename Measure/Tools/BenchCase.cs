using ToyModels.Model;

namespace ToyModels.Measure.Tools;

/// <summary>
/// The issue's training cases (untied unless stated, bias, uniform importance, Adam with eps 1e-7, lr 3e-3 / sqrt(n): Samples/Train's
/// defaults), and the ragged shape the kernels are checked on.
/// </summary>
public sealed record BenchCase(string Name, int N, int M, int Batch, double P, bool Tied = false)
{
    public static readonly BenchCase Small = new("S", 512, 128, 1024, 0.045);
    public static readonly BenchCase Medium = new("M", 4096, 512, 1024, 0.01);
    public static readonly BenchCase Large = new("L", 16384, 2048, 256, 0.001);
    /// <summary>Tied: untied, its Adam state exceeds the largest buffer (as the hardware command's XL).</summary>
    public static readonly BenchCase ExtraLarge = new("XL", 65536, 8192, 256, 0.001, Tied: true);
    /// <summary>No size a multiple of a vector or a tile: every kernel's edge paths run.</summary>
    public static readonly BenchCase Ragged = new("ragged", 509, 37, 67, 0.05);

    public static readonly BenchCase[] All = [Small, Medium, Large, ExtraLarge, Ragged];

    public static BenchCase Parse(string name) =>
        All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"case '{name}' is not one of {string.Join(", ", All.Select(c => c.Name))}");

    public AutoencoderConfig Config() =>
        AutoencoderConfig.Create(N, M, P, 3e-3 / Math.Sqrt(N), Tied, batch: Batch, optimizer: new OptimizerSettings { Eps = 1e-7 });

    public override string ToString() => $"{Name} (n {N}, m {M}, B {Batch}, p {P}{(Tied ? ", tied" : "")})";
}
