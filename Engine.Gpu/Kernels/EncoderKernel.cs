using ILGPU;

namespace ToyModels.Gpu.Kernels;

internal struct EncoderArguments : IInstanceArguments
{
    public int FirstInstance { get; set; }
    /// <summary>Device layout (<see cref="DeviceLayout"/>): W_in^T is [n][m] at offset 0 of each instance block.</summary>
    public ArrayView<float> Parameters;
    public ArrayView<float> X;
    /// <summary>Row lists of x: [instances][batch][n], [instances][batch].</summary>
    public ArrayView<int> XRowIndex, XRowCount;
    /// <summary>[instances][batch][m].</summary>
    public ArrayView<float> H;
    public int N, M, Batch, Rows, InstanceParameters;
}

internal static class EncoderKernel
{
    /// <summary>
    /// h[r][j] = serial-k over the nonzero x[r][i], i ascending, of fma(W_in[j][i], x[r][i], acc), acc
    /// from +0: the terms with x = 0 are skipped exactly as the reference skips them (docs/numerics.md).
    /// One work-item per (r, j), j fastest: the list and x are broadcast reads, W_in^T[i][j] is coalesced.
    /// </summary>
    public static void Forward(EncoderArguments a)
    {
        int s = a.FirstInstance + Grid.IdxY;
        if (!WorkItem.Index(a.Rows * a.M, out int g)) return;
        int r = g / a.M, j = g % a.M;
        int row = s * a.Batch + r;
        int weights = s * a.InstanceParameters;
        int count = a.XRowCount[row];
        float acc = 0f;
        for (int c = 0; c < count; c++)
        {
            int i = a.XRowIndex[row * a.N + c];
            acc = Exact.Fma(a.Parameters[weights + i * a.M + j], a.X[row * a.N + i], acc);
        }
        a.H[row * a.M + j] = acc;
    }
}
