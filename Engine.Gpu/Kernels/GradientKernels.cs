using ILGPU;

namespace ToyModels.Gpu.Kernels;

internal struct GradientArguments : IInstanceArguments
{
    public int FirstInstance { get; set; }
    /// <summary>Device layout (<see cref="DeviceLayout"/>).</summary>
    public ArrayView<float> Parameters, Gradients;
    /// <summary>[instances][batch][n].</summary>
    public ArrayView<float> X, Gz;
    /// <summary>[instances][batch][m].</summary>
    public ArrayView<float> H, Gh;
    /// <summary>Row lists of g_z: [instances][batch][n], [instances][batch].</summary>
    public ArrayView<int> GzRowIndex, GzRowCount;
    /// <summary>Column lists of g_z and x: [instances][n][batch], [instances][n].</summary>
    public ArrayView<int> GzColumnIndex, GzColumnCount, XColumnIndex, XColumnCount;
    public int N, M, Batch, InstanceParameters, DecoderOffset, BiasOffset, Tied;
}

/// <summary>The backward pass after g_z: every chain over the nonzero g_z or x, in ascending order (docs/numerics.md).</summary>
internal static class GradientKernels
{
    /// <summary>
    /// g_b[i] = serial over the rows r with g_z[r][i] != 0, ascending, of acc = acc + g_z[r][i] (a plain
    /// sum from +0 may skip zeros). One work-item per feature.
    /// </summary>
    public static void Bias(GradientArguments a)
    {
        int s = a.FirstInstance + Grid.IdxY;
        if (!WorkItem.Index(a.N, out int i)) return;
        int column = s * a.N + i;
        int count = a.GzColumnCount[column];
        float acc = 0f;
        for (int c = 0; c < count; c++)
            acc = Exact.Add(acc, a.Gz[(s * a.Batch + a.GzColumnIndex[column * a.Batch + c]) * a.N + i]);
        a.Gradients[s * a.InstanceParameters + a.BiasOffset + i] = acc;
    }

    /// <summary>
    /// g_h[r][j] = serial-k over the nonzero g_z[r][i], i ascending, of fma(W_out[i][j], g_z[r][i], acc).
    /// One work-item per (r, j), j fastest: W_out[i][j] is a coalesced read, the list a broadcast.
    /// </summary>
    public static void DecoderInput(GradientArguments a)
    {
        int s = a.FirstInstance + Grid.IdxY;
        if (!WorkItem.Index(a.Batch * a.M, out int g)) return;
        int r = g / a.M, j = g % a.M;
        int row = s * a.Batch + r;
        int wOut = s * a.InstanceParameters + a.DecoderOffset;
        int count = a.GzRowCount[row];
        float acc = 0f;
        for (int c = 0; c < count; c++)
        {
            int i = a.GzRowIndex[row * a.N + c];
            acc = Exact.Fma(a.Parameters[wOut + i * a.M + j], a.Gz[row * a.N + i], acc);
        }
        a.Gh[row * a.M + j] = acc;
    }

    /// <summary>
    /// Both weight gradients of element (i, j), over the batch in ascending r:
    ///   gW_out[i][j] = serial-k over the r with g_z[r][i] != 0 of fma(g_z[r][i], h[r][j], acc),
    ///   gW_in[j][i]  = serial-k over the r with x[r][i] != 0 of fma(g_h[r][j], x[r][i], acc);
    /// untied, stored at the decoder offset and (transposed, [i][j]) at the encoder offset; tied,
    /// gW[j][i] = gW_in[j][i] + gW_out[i][j], one rounded add, stored transposed.
    /// One work-item per (i, j), j fastest: h and g_h rows are coalesced reads, the lists broadcasts.
    /// </summary>
    public static void Weights(GradientArguments a)
    {
        int s = a.FirstInstance + Grid.IdxY;
        if (!WorkItem.Index(a.N * a.M, out int g)) return;
        int i = g / a.M, j = g % a.M;
        int column = s * a.N + i;
        int rows = s * a.Batch;

        int count = a.GzColumnCount[column];
        float decoder = 0f;
        for (int c = 0; c < count; c++)
        {
            int row = rows + a.GzColumnIndex[column * a.Batch + c];
            decoder = Exact.Fma(a.Gz[row * a.N + i], a.H[row * a.M + j], decoder);
        }

        count = a.XColumnCount[column];
        float encoder = 0f;
        for (int c = 0; c < count; c++)
        {
            int row = rows + a.XColumnIndex[column * a.Batch + c];
            encoder = Exact.Fma(a.Gh[row * a.M + j], a.X[row * a.N + i], encoder);
        }

        int block = s * a.InstanceParameters;
        if (a.Tied != 0)
        {
            a.Gradients[block + g] = Exact.Add(encoder, decoder);
        }
        else
        {
            a.Gradients[block + g] = encoder;
            a.Gradients[block + a.DecoderOffset + g] = decoder;
        }
    }
}
