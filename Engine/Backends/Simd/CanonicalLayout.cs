using ToyModels.Model;

namespace ToyModels.Backends.Simd;

/// <summary>
/// Converts between the canonical parameter layout that crosses IBackend (<see cref="ParameterLayout"/>:
/// W_in m x n, W_out n x m, b) and the workspace's internal one (W_in^T and W_out as n rows of ldm, b
/// padded). Padding lanes are written as zeros, so a backend restored from any state starts clean.
/// </summary>
internal static unsafe class CanonicalLayout
{
    private const int Tile = 32;

    /// <summary>Canonical (every instance) into the internal layout at <paramref name="destination"/>.</summary>
    public static void Import(Workspace w, ParameterLayout layout, ReadOnlySpan<float> canonical, float* destination)
    {
        int n = w.N, m = w.M, ldm = w.Ldm;
        for (int s = 0; s < w.Instances; s++)
        {
            var block = layout.Instance(canonical, s);
            float* d = w.Block(destination, s);
            var encoder = layout.Encoder.Of(block);
            float* e = d + w.EncoderOffset;
            // E[i][j] = W_in[j][i], in tiles so both sides stay in cache.
            for (int j0 = 0; j0 < m; j0 += Tile)
                for (int i0 = 0; i0 < n; i0 += Tile)
                    for (int i = i0; i < Math.Min(i0 + Tile, n); i++)
                        for (int j = j0; j < Math.Min(j0 + Tile, m); j++)
                            e[(nint)i * ldm + j] = encoder[j * n + i];
            ZeroPadding(e, n, m, ldm);
            if (!w.Tied)
            {
                var decoder = layout.Decoder.Of(block);
                float* dd = d + w.DecoderOffset;
                for (int i = 0; i < n; i++) decoder.Slice(i * m, m).CopyTo(new Span<float>(dd + (nint)i * ldm, m));
                ZeroPadding(dd, n, m, ldm);
            }
            if (w.Bias)
            {
                float* b = d + w.BiasOffset;
                layout.BiasVector.Of(block).CopyTo(new Span<float>(b, n));
                new Span<float>(b + n, w.BiasLength - n).Clear();
            }
        }
    }

    /// <summary>The internal layout at <paramref name="source"/> into canonical (every instance).</summary>
    public static void Export(Workspace w, ParameterLayout layout, float* source, Span<float> canonical)
    {
        int n = w.N, m = w.M, ldm = w.Ldm;
        for (int s = 0; s < w.Instances; s++)
        {
            var block = layout.Instance(canonical, s);
            float* d = w.Block(source, s);
            var encoder = layout.Encoder.Of(block);
            float* e = d + w.EncoderOffset;
            for (int i0 = 0; i0 < n; i0 += Tile)
                for (int j0 = 0; j0 < m; j0 += Tile)
                    for (int j = j0; j < Math.Min(j0 + Tile, m); j++)
                        for (int i = i0; i < Math.Min(i0 + Tile, n); i++)
                            encoder[j * n + i] = e[(nint)i * ldm + j];
            if (!w.Tied)
            {
                var decoder = layout.Decoder.Of(block);
                float* dd = d + w.DecoderOffset;
                for (int i = 0; i < n; i++) new ReadOnlySpan<float>(dd + (nint)i * ldm, m).CopyTo(decoder.Slice(i * m, m));
            }
            if (w.Bias) new ReadOnlySpan<float>(d + w.BiasOffset, n).CopyTo(layout.BiasVector.Of(block));
        }
    }

    private static void ZeroPadding(float* rows, int n, int m, int ldm)
    {
        if (ldm == m) return;
        for (int i = 0; i < n; i++) new Span<float>(rows + (nint)i * ldm + m, ldm - m).Clear();
    }
}
