using ToyModels.Data;
using ToyModels.Model;

namespace ToyModels.Analysis;

/// <summary>
/// The Persian rug (Cowsik, Dolev, Infanger 2024): a forward-engineered toy model with
/// W_in = m distinct rows of the Sylvester Hadamard matrix, W_out = W_in^T / m, and
/// f(x) = ReLU(a (W_out W_in x + b)) with two scalars a and b (<see cref="PersianRugFit"/> fits them).
/// </summary>
/// <remarks>
/// <para>Row choice (a partial Fisher-Yates shuffle of 0 .. n-1 driven by the engine's Philox, stream 5):
/// start from perm = (0, 1, ..., n-1); for k = 0 .. m-1 draw j uniform in [k, n) and swap perm[k], perm[j];
/// the rows are perm[0 .. m-1] in that order. A uniform integer in [0, bound) is drawn exactly (Lemire's
/// multiply-shift with rejection): for attempt = 0, 1, ...: w = philox((k, attempt, 0, 5), key(seed))[0];
/// accept when the low 32 bits of w * bound are &gt;= 2^32 mod bound, and take the high 32 bits.</para>
/// <para>Because (W_out W_in)_ij = (1/m) sum_r H[r][i] H[r][j] = (1/m) sum_r (-1)^popcount(r AND (i XOR j)),
/// the effective matrix depends on i XOR j only (the rug's pattern) and has 1 on its diagonal. If the all-ones
/// row 0 is among the chosen rows, every feature's interference has mean p/2 (n/m - 1) instead of -p/2; the
/// common shift is absorbed by b, and the theory's minimum over b does not change.</para>
/// <para>As parameters of the ordinary untied model with bias: W_in[r][i] = H[rows[r]][i] (exactly +-1),
/// W_out[i][r] = (float)(a/m) * H[rows[r]][i], b_i = (float)(a b): the engine's forward pass then computes f.</para>
/// </remarks>
public sealed class PersianRug
{
    /// <summary>The Philox stream (last counter word) of the row shuffle; data uses 0-3, initialisation 4.</summary>
    public const uint ShuffleStream = 5;

    /// <summary>n: features, a power of two.</summary>
    public int N { get; }
    /// <summary>m: hidden dimensions, the number of Hadamard rows, in [1, n].</summary>
    public int M { get; }
    /// <summary>The seed of the row shuffle.</summary>
    public ulong Seed { get; }
    /// <summary>The Hadamard rows used, in order: row r of W_in is H[Rows[r]].</summary>
    public IReadOnlyList<int> Rows { get; }

    private PersianRug(int n, int m, ulong seed, int[] rows)
    {
        N = n; M = m; Seed = seed; Rows = rows;
    }

    /// <summary>The rug of n features in m dimensions whose Hadamard rows the shuffle of <paramref name="seed"/> picks.</summary>
    /// <exception cref="ConfigException">n is not a power of two, or m is not in [1, n].</exception>
    public static PersianRug Create(int n, int m, ulong seed)
    {
        if (!Hadamard.IsPowerOfTwo(n)) throw new ConfigException("PersianRug.Create(n)", n, "a power of two (the Persian rug uses Hadamard rows)");
        if (m < 1 || m > n) throw new ConfigException("PersianRug.Create(m)", m, $"an integer in [1, n = {n}]");
        var (k0, k1) = Philox.Key(seed);
        var perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int k = 0; k < m; k++)
        {
            int j = k + (int)UniformBelow((uint)(n - k), (uint)k, k0, k1);
            (perm[k], perm[j]) = (perm[j], perm[k]);
        }
        return new PersianRug(n, m, seed, perm[..m]);
    }

    /// <summary>An exactly uniform integer in [0, bound) (Lemire 2019, "Fast random integer generation in an interval").</summary>
    private static uint UniformBelow(uint bound, uint draw, uint k0, uint k1)
    {
        uint threshold = (uint)((1UL << 32) % bound);
        for (uint attempt = 0; ; attempt++)
        {
            ulong product = (ulong)Philox.Generate(draw, attempt, 0, ShuffleStream, k0, k1).X0 * bound;
            if ((uint)product >= threshold) return (uint)(product >> 32);
        }
    }

    /// <summary>W_in: m x n, row-major, entries +-1.</summary>
    internal float[] Encoder()
    {
        var w = new float[M * N];
        for (int r = 0; r < M; r++)
            for (int i = 0; i < N; i++)
                w[r * N + i] = Hadamard.Entry(Rows[r], i);
        return w;
    }

    /// <summary>The unscaled decoder W_in^T / m in double: n x m, row-major (the direction that a multiplies).</summary>
    internal double[] UnitDecoder()
    {
        var d = new double[N * M];
        for (int i = 0; i < N; i++)
            for (int r = 0; r < M; r++)
                d[i * M + r] = Hadamard.Entry(Rows[r], i) / (double)M;
        return d;
    }

    /// <summary>Writes the rug with scalars a, b as the parameters of one instance of an untied model with bias.</summary>
    public void WriteParameters(AutoencoderConfig config, Span<float> instanceBlock, double a, double b)
    {
        if (config.N != N || config.M != M || config.Tied || !config.Bias)
            throw new ArgumentException($"the rug needs an untied model with bias, n {N}, m {M}", nameof(config));
        var layout = config.Layout;
        Encoder().CopyTo(layout.Encoder.Of(instanceBlock));
        var decoder = layout.Decoder.Of(instanceBlock);
        float scaled = (float)(a / M);
        for (int i = 0; i < N; i++)
            for (int r = 0; r < M; r++)
                decoder[i * M + r] = Hadamard.Entry(Rows[r], i) * scaled;
        layout.BiasVector.Of(instanceBlock).Fill((float)(a * b));
    }

    /// <summary>Whether the parameters <see cref="WriteParameters"/> writes for (a, b) are all finite float32 values.</summary>
    internal bool ParametersFinite(double a, double b) => float.IsFinite((float)(a / M)) && float.IsFinite((float)(a * b));

    /// <summary>W_out W_in = (1/m) H_S^T H_S in double (n x n, row-major); multiply by a for the fitted rug.</summary>
    public double[] EffectiveMatrix()
    {
        // H[r][i] H[r][j] = H[r][i XOR j] (popcount parity is additive under XOR), so one row of values suffices.
        var byXor = new double[N];
        for (int d = 0; d < N; d++)
        {
            int sum = 0;
            for (int r = 0; r < M; r++) sum += Hadamard.Entry(Rows[r], d);
            byXor[d] = sum / (double)M;
        }
        var e = new double[N * N];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                e[i * N + j] = byXor[i ^ j];
        return e;
    }
}
