using ToyModels.Model;

namespace ToyModels.Backends.Simd;

/// <summary>
/// Converts between the canonical parameter layout that crosses IBackend (<see cref="ParameterLayout"/>:
/// W_in m x n, W_out n x m, b) and the workspace's internal one (W_in^T and W_out as n rows of ldm, b
/// padded), a range at a time: a range may start and end anywhere, so a model of any size crosses in pieces.
/// Padding lanes are written as zeros with the last real element of their row, so a backend restored from any
/// state starts clean.
/// </summary>
/// <remarks>
/// Offsets are 64-bit (a buffer may exceed 2^31 floats); inside one piece, which is at most one span long,
/// 32-bit counts suffice.
/// </remarks>
internal static unsafe class CanonicalLayout
{
    private const int Tile = 32;

    /// <summary>Canonical floats [start, start + canonical.Length) into the internal layout at <paramref name="destination"/>.</summary>
    public static void Import(Workspace w, ParameterLayout layout, long start, ReadOnlySpan<float> canonical, float* destination)
    {
        fixed (float* source = canonical)
            Walk(w, layout, start, canonical.Length, source, destination, import: true);
    }

    /// <summary>The internal layout at <paramref name="source"/> into canonical floats [start, start + canonical.Length).</summary>
    public static void Export(Workspace w, ParameterLayout layout, float* source, long start, Span<float> canonical)
    {
        fixed (float* destination = canonical)
            Walk(w, layout, start, canonical.Length, destination, source, import: false);
    }

    /// <summary>Splits the range into pieces of one tensor of one instance and moves each.</summary>
    private static void Walk(Workspace w, ParameterLayout layout, long start, int length, float* canonical, float* internalBuffer, bool import)
    {
        int done = 0;
        while (done < length)
        {
            long position = start + done;
            int s = (int)(position / layout.PerInstance);
            long offset = position % layout.PerInstance;
            float* block = w.Block(internalBuffer, s);
            int count;
            if (offset < layout.Encoder.Length)
            {
                count = (int)Math.Min(length - done, layout.Encoder.Length - offset);
                Encoder(w, offset, count, canonical + done, block + w.EncoderOffset, import);
            }
            else if (offset < layout.Decoder.Offset + layout.Decoder.Length)
            {
                long at = offset - layout.Decoder.Offset;
                count = (int)Math.Min(length - done, layout.Decoder.Length - at);
                Rows(w.M, w.Ldm, at, count, canonical + done, block + w.DecoderOffset, import);
            }
            else
            {
                long at = offset - layout.BiasVector.Offset;
                count = (int)Math.Min(length - done, layout.BiasVector.Length - at);
                Rows(w.N, w.BiasLength, at, count, canonical + done, block + w.BiasOffset, import);
            }
            done += count;
        }
    }

    /// <summary>
    /// W_in[j][i] (canonical offset j n + i, from <paramref name="first"/>) and E[i][j] = W_in[j][i] at i ldm + j:
    /// a partial first row, whole rows, a partial last row, each transposed in tiles so both sides stay in cache.
    /// </summary>
    private static void Encoder(Workspace w, long first, int count, float* canonical, float* e, bool import)
    {
        int n = w.N;
        long end = first + count;
        while (first < end)
        {
            int j = (int)(first / n), i = (int)(first % n);
            int rows = i == 0 ? (int)((end - first) / n) : 0;
            int columns = rows > 0 ? n : (int)Math.Min(n - i, end - first);
            rows = Math.Max(rows, 1);
            Transpose(w, j, j + rows, i, i + columns, canonical, e, import);
            first += (long)rows * columns;
            canonical += (long)rows * columns;
        }
    }

    /// <summary>
    /// Rows [j0, j1) x columns [i0, i1) of W_in, W_in[j][i] at <paramref name="at"/>[(j - j0) n + i - i0] (one
    /// partial row, or whole rows with i0 = 0).
    /// </summary>
    private static void Transpose(Workspace w, int j0, int j1, int i0, int i1, float* at, float* e, bool import)
    {
        int n = w.N, ldm = w.Ldm;
        for (int jt = j0; jt < j1; jt += Tile)
            for (int it = i0; it < i1; it += Tile)
                for (int i = it; i < Math.Min(it + Tile, i1); i++)
                    for (int j = jt; j < Math.Min(jt + Tile, j1); j++)
                    {
                        float* c = at + ((long)(j - j0) * n + (i - i0));
                        if (import) e[(nint)i * ldm + j] = *c;
                        else *c = e[(nint)i * ldm + j];
                    }
        // E's row i gets its last real element from W_in's last row: clear its padding then.
        if (import && j1 == w.M && ldm > w.M)
            for (int i = i0; i < i1; i++) new Span<float>(e + (nint)i * ldm + w.M, ldm - w.M).Clear();
    }

    /// <summary>
    /// A row-major tensor of rows of <paramref name="width"/> real floats kept at a stride of <paramref name="stride"/>
    /// (W_out: n rows of m at ldm; b: one row of n, padded): canonical offsets [first, first + count).
    /// </summary>
    private static void Rows(int width, int stride, long first, int count, float* canonical, float* rows, bool import)
    {
        long end = first + count;
        while (first < end)
        {
            long row = first / width;
            int column = (int)(first % width), run = (int)Math.Min(width - column, end - first);
            float* inside = rows + row * stride + column;
            if (import)
            {
                new ReadOnlySpan<float>(canonical, run).CopyTo(new Span<float>(inside, run));
                if (column + run == width && stride > width) new Span<float>(inside + run, stride - width).Clear();
            }
            else new ReadOnlySpan<float>(inside, run).CopyTo(new Span<float>(canonical, run));
            first += run;
            canonical += run;
        }
    }
}
