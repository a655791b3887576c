using ToyModels.Numerics;

namespace ToyModels.Backends.Reference;

/// <summary>The loss terms and the output gradient, one pass over (z, x).</summary>
internal static class Loss
{
    /// <summary>
    /// Per row r, with y = (z &gt; 0 ? z : 0) and d = y - x:
    /// rowLoss[r] = R32 over i of lane = fma(I_i * d, d, lane);
    /// g_z[r][i] = z &gt; 0 ? GradScale_i * d : 0.
    /// </summary>
    /// <param name="z">rows x n.</param>
    /// <param name="x">rows x n.</param>
    /// <param name="importance">n.</param>
    /// <param name="gradScale">n: (float)(2 I_i / (B n)).</param>
    /// <param name="rowLoss">rows.</param>
    /// <param name="gz">rows x n, or empty to skip the gradient (evaluation).</param>
    /// <param name="rows">Rows of the batch (B, or an evaluation count).</param>
    /// <param name="n">Features.</param>
    public static void Forward(ReadOnlySpan<float> z, ReadOnlySpan<float> x, ReadOnlySpan<float> importance, ReadOnlySpan<float> gradScale,
        Span<float> rowLoss, Span<float> gz, int rows, int n)
    {
        Span<float> lane = stackalloc float[R32.Lanes];
        for (int r = 0; r < rows; r++)
        {
            lane.Clear();
            for (int i = 0; i < n; i++)
            {
                float zi = z[r * n + i];
                float y = zi > 0f ? zi : 0f;
                float d = y - x[r * n + i];
                lane[i % R32.Lanes] = MathF.FusedMultiplyAdd(importance[i] * d, d, lane[i % R32.Lanes]);
                if (!gz.IsEmpty) gz[r * n + i] = zi > 0f ? gradScale[i] * d : 0f;
            }
            rowLoss[r] = R32.Tree(lane);
        }
    }
}
