namespace ToyModels.Backends.Reference;

/// <summary>
/// The decoder z = W_out h + b and its gradients, in the serial-k order (numerics.md rule 4).
/// W_out[i][j] is wOut[i * m + j] untied, or W[j][i] = wOut[j * n + i] when tied (W_out = W^T).
/// Where a gradient keeps its accumulators in the output buffer, the batch index r is the outer loop,
/// so every element still sees its terms in ascending r, from +0.
/// </summary>
internal static class Decoder
{
    private static float Weight(ReadOnlySpan<float> wOut, bool tied, int i, int j, int n, int m) => tied ? wOut[j * n + i] : wOut[i * m + j];

    /// <summary>z[r][i] = (sum over j ascending of fma(W_out[i][j], h[r][j], acc)) + b[i], the bias a separate rounded add.</summary>
    /// <param name="wOut">W_out (n x m), or the tied W (m x n, read transposed).</param>
    /// <param name="tied">Whether <paramref name="wOut"/> is the tied W.</param>
    /// <param name="bias">n, or empty.</param>
    /// <param name="h">rows x m.</param>
    /// <param name="z">rows x n.</param>
    /// <param name="rows">Rows of the batch (B, or an evaluation count).</param>
    /// <param name="n">Features.</param>
    /// <param name="m">Hidden dimensions.</param>
    public static void Forward(ReadOnlySpan<float> wOut, bool tied, ReadOnlySpan<float> bias, ReadOnlySpan<float> h, Span<float> z, int rows, int n, int m)
    {
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
            {
                float acc = 0f;
                for (int j = 0; j < m; j++)
                    acc = MathF.FusedMultiplyAdd(Weight(wOut, tied, i, j, n, m), h[r * m + j], acc);
                z[r * n + i] = bias.IsEmpty ? acc : acc + bias[i];
            }
    }

    /// <summary>g_b[i] = sum over r ascending of g_z[r][i] (acc = acc + g_z, from +0).</summary>
    /// <param name="gz">B x n.</param>
    /// <param name="gb">n.</param>
    /// <param name="rows">Rows of the batch.</param>
    /// <param name="n">Features.</param>
    public static void BackwardBias(ReadOnlySpan<float> gz, Span<float> gb, int rows, int n)
    {
        gb.Clear();
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
                gb[i] += gz[r * n + i];
    }

    /// <summary>gW_out[i][j] = sum over r ascending of fma(g_z[r][i], h[r][j], acc), acc from +0; terms with g_z = 0 skipped.</summary>
    /// <param name="gz">B x n.</param>
    /// <param name="h">B x m.</param>
    /// <param name="gWOut">n x m.</param>
    /// <param name="rows">Rows of the batch (B, or an evaluation count).</param>
    /// <param name="n">Features.</param>
    /// <param name="m">Hidden dimensions.</param>
    public static void BackwardWeights(ReadOnlySpan<float> gz, ReadOnlySpan<float> h, Span<float> gWOut, int rows, int n, int m)
    {
        gWOut.Clear();
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
            {
                float g = gz[r * n + i];
                if (g == 0f) continue;
                for (int j = 0; j < m; j++)
                    gWOut[i * m + j] = MathF.FusedMultiplyAdd(g, h[r * m + j], gWOut[i * m + j]);
            }
    }

    /// <summary>g_h[r][j] = sum over i ascending of fma(W_out[i][j], g_z[r][i], acc), acc from +0; terms with g_z = 0 skipped.</summary>
    /// <param name="wOut">W_out (n x m), or the tied W (m x n, read transposed).</param>
    /// <param name="tied">Whether <paramref name="wOut"/> is the tied W.</param>
    /// <param name="gz">B x n.</param>
    /// <param name="gh">B x m.</param>
    /// <param name="rows">Rows of the batch (B, or an evaluation count).</param>
    /// <param name="n">Features.</param>
    /// <param name="m">Hidden dimensions.</param>
    public static void BackwardInput(ReadOnlySpan<float> wOut, bool tied, ReadOnlySpan<float> gz, Span<float> gh, int rows, int n, int m)
    {
        var active = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            active.Clear();
            for (int i = 0; i < n; i++)
                if (gz[r * n + i] != 0f) active.Add(i);
            for (int j = 0; j < m; j++)
            {
                float acc = 0f;
                foreach (int i in active)
                    acc = MathF.FusedMultiplyAdd(Weight(wOut, tied, i, j, n, m), gz[r * n + i], acc);
                gh[r * m + j] = acc;
            }
        }
    }
}
