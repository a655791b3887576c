namespace ToyModels.Measure.Hardware;

/// <summary>
/// Floating-point operations of one training step (one instance), an FMA counted as 2.
/// </summary>
/// <remarks>
/// <para>Dense-equivalent: what the step would cost with dense x and g_z, i.e. the usual accounting of
/// a two-layer linear autoencoder trained by backpropagation:</para>
/// <code>
///   forward   h = W_in x                 2 B n m
///             z = W_out h + b            2 B n m + B n
///   backward  y, loss, g_y, g_z          5 B n   (ReLU select, y - x, I (.) d, d^2 into the loss, scale)
///             g_b = sum_b g_z            B n
///             gW_out = sum_b g_z h^T     2 B n m
///             g_h = W_out^T g_z          2 B n m
///             gW_in = sum_b g_h x^T      2 B n m   (no g_x: the input needs no gradient)
///             tied: gW = gW_in + gW_out^T   n m
///   Adam      13 per parameter           (m: 3, v: 4, denom: 3, update: 3)
/// </code>
/// <para>so 10 B n m for the five products, the figure people compare across machines.</para>
/// <para>Executed: the terms the engine computes. It skips exact zeros (numerics.md rule 5): the
/// encoder and gW_in cost 2 m per nonzero x, gW_out and g_h 2 m per nonzero g_z, g_b one add per
/// nonzero g_z; the decoder product, the element-wise work and Adam are dense. The nonzero counts are
/// measured on the last timed batch: x from a read of X, g_z as the outputs with z &gt; 0 from a read
/// of Z (g_z is also zero where y equals x exactly, which this count ignores, so it is an upper bound).
/// A backend that takes a dense kernel for a dense enough batch executes more than this counts. The SIMD
/// backend also leaves out the g_z of samples with no active feature (their h is +0); the standard cases have
/// none (at n p &gt;= 4 a sample is empty with probability below 2%, at these cases' n p far below).</para>
/// </remarks>
internal static class FlopCount
{
    public static double DenseEquivalent(BenchmarkCase c)
    {
        double b = c.Batch, n = c.N, m = c.M;
        return 10 * b * n * m + 7 * b * n + (c.Tied ? n * m : 0) + 13 * Parameters(c);
    }

    /// <summary><paramref name="nonzeroX"/> and <paramref name="nonzeroGz"/> are per batch (all B samples).</summary>
    public static double Executed(BenchmarkCase c, double nonzeroX, double nonzeroGz)
    {
        double b = c.Batch, n = c.N, m = c.M;
        return 2 * b * n * m + 6 * b * n + 4 * m * nonzeroX + 4 * m * nonzeroGz + nonzeroGz + (c.Tied ? n * m : 0) + 13 * Parameters(c);
    }

    public static double Parameters(BenchmarkCase c) => (double)c.N * c.M * (c.Tied ? 1 : 2) + c.N;
}
