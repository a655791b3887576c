namespace ToyModels.Backends.Reference;

/// <summary>The encoder h = W_in x and its weight gradient, in the serial-k order (numerics.md rule 4).</summary>
internal static class Encoder
{
    /// <summary>
    /// h[r][j] = sum over i ascending of fma(W_in[j][i], x[r][i], acc), acc from +0.
    /// Terms with x = 0 are skipped, and every backend must skip exactly them: acc can be -0, and then
    /// a zero term would turn it into +0 (docs/numerics.md).
    /// </summary>
    /// <param name="wIn">W_in or tied W: m x n.</param>
    /// <param name="x">rows x n.</param>
    /// <param name="h">rows x m.</param>
    /// <param name="rows">Rows of the batch (B, or an evaluation count).</param>
    /// <param name="n">Features.</param>
    /// <param name="m">Hidden dimensions.</param>
    public static void Forward(ReadOnlySpan<float> wIn, ReadOnlySpan<float> x, Span<float> h, int rows, int n, int m)
    {
        var active = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * n, n);
            active.Clear();
            for (int i = 0; i < n; i++)
                if (xr[i] != 0f) active.Add(i);
            for (int j = 0; j < m; j++)
            {
                float acc = 0f;
                foreach (int i in active)
                    acc = MathF.FusedMultiplyAdd(wIn[j * n + i], xr[i], acc);
                h[r * m + j] = acc;
            }
        }
    }

    /// <summary>
    /// gW_in[j][i] = sum over r ascending of fma(g_h[r][j], x[r][i], acc), acc from +0; terms with x = 0 skipped.
    /// The accumulators live in gW_in itself: r is the outer loop, so each element still sees its terms in ascending r.
    /// </summary>
    /// <param name="gh">g_h: B x m.</param>
    /// <param name="x">B x n.</param>
    /// <param name="gWIn">m x n.</param>
    /// <param name="rows">Rows of the batch (B, or an evaluation count).</param>
    /// <param name="n">Features.</param>
    /// <param name="m">Hidden dimensions.</param>
    public static void BackwardWeights(ReadOnlySpan<float> gh, ReadOnlySpan<float> x, Span<float> gWIn, int rows, int n, int m)
    {
        gWIn.Clear();
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
            {
                float xi = x[r * n + i];
                if (xi == 0f) continue;
                for (int j = 0; j < m; j++)
                    gWIn[j * n + i] = MathF.FusedMultiplyAdd(gh[r * m + j], xi, gWIn[j * n + i]);
            }
    }
}
