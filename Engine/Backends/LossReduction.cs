using ToyModels.Numerics;

namespace ToyModels.Backends;

/// <summary>
/// The host's half of the loss: a backend produces per-row sums R32_i(I_i (y_i - x_i)^2); the loss of
/// an instance is R32 over its rows, times (float)(1 / (rows n)). The same code serves every backend.
/// </summary>
internal static class LossReduction
{
    /// <summary>rowLoss is [instances][rows]; writes one loss per instance.</summary>
    public static void Finish(ReadOnlySpan<float> rowLoss, int rows, int n, Span<float> loss)
    {
        if (rows < 1 || rowLoss.Length != loss.Length * rows)
            throw new ArgumentException($"rowLoss has {rowLoss.Length} floats; {loss.Length} instances x {rows} rows expected", nameof(rowLoss));
        float scale = Scale(rows, n);
        for (int s = 0; s < loss.Length; s++)
            loss[s] = R32.Sum(rowLoss.Slice(s * rows, rows)) * scale;
    }

    /// <summary>The factor that turns an R32 sum of <paramref name="rows"/> row losses into the mean loss per feature.</summary>
    public static float Scale(long rows, int n) => (float)(1.0 / ((double)rows * n));
}
