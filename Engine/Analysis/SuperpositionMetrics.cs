using System.Globalization;
using System.Text;
using System.Text.Json;
using ToyModels.Model;

namespace ToyModels.Analysis;

/// <summary>
/// The superposition metrics of Elhage et al. 2022 ("Toy Models of Superposition") for one trained model,
/// computed on the host in double.
/// </summary>
/// <remarks>
/// <para>Everything is computed from one n x n matrix G: for tied models G = W^T W (G_ij = W_i . W_j, W_i the
/// i-th column of W, feature i's direction in the hidden space); for untied models G = W_out W_in, the
/// effective matrix (G_ij is how strongly input feature j reaches output i before bias and ReLU). With
/// W_out = W_in^T the two coincide. The effective matrix is unchanged by W_in -&gt; A W_in, W_out -&gt; W_out A^-1
/// for any invertible A, so these numbers describe the function rather than one of its parametrisations;
/// W_in or W_out alone would not.</para>
/// <para>Per feature i (rows of G):</para>
/// <list type="bullet">
/// <item>norm ||W_i|| = sqrt(max(G_ii, 0)) (tied: the column norm; untied: the square root of feature i's gain
/// on its own output, 0 when that gain is negative);</item>
/// <item>interference sum_{j != i} (W_i-hat . W_j)^2 = sum_{j != i} G_ij^2 / |G_ii|;</item>
/// <item>dimensionality D_i = ||W_i||^2 / sum_j (W_i-hat . W_j)^2 = G_ii^2 / sum_j G_ij^2, in [0, 1];</item>
/// </list>
/// <para>A feature with G_ii = 0 has interference 0 and D_i = 0 (it occupies no dimension). Per model:
/// D* = m / ||W||_F^2 = m / trace(G) (NaN when the trace is not positive), the number of features represented,
/// norm &gt; <see cref="Threshold"/> (default 0.5), and the bias b as trained.</para>
/// </remarks>
public sealed class SuperpositionMetrics
{
    /// <summary>The norm above which a feature counts as represented, unless the caller gives another.</summary>
    public const double DefaultThreshold = 0.5;

    /// <summary>true: computed on W_out W_in (untied); false: on W^T W (tied).</summary>
    public bool Effective { get; }
    /// <summary>m: hidden dimensions of the model.</summary>
    public int M { get; }
    /// <summary>The norm above which <see cref="FeaturesRepresented"/> counts a feature.</summary>
    public double Threshold { get; }
    /// <summary>Per feature i (n entries): ||W_i|| = sqrt(max(G_ii, 0)), &gt;= 0.</summary>
    public double[] Norm { get; }
    /// <summary>Per feature i (n entries): sum_{j != i} G_ij^2 / |G_ii|, &gt;= 0 (0 when G_ii = 0).</summary>
    public double[] Interference { get; }
    /// <summary>Per feature i (n entries): D_i = G_ii^2 / sum_j G_ij^2, in [0, 1] (0 when G_ii = 0).</summary>
    public double[] Dimensionality { get; }
    /// <summary>D* = m / trace(G).</summary>
    public double DStar { get; }
    /// <summary>How many features have a norm above <see cref="Threshold"/>, in [0, n].</summary>
    public int FeaturesRepresented { get; }
    /// <summary>The output bias b (empty without bias).</summary>
    public double[] Bias { get; }

    /// <summary>n: features.</summary>
    public int N => Norm.Length;
    /// <summary>The mean of <see cref="Dimensionality"/> over all n features, in [0, 1].</summary>
    public double MeanDimensionality => Dimensionality.Average();
    /// <summary>sum_i D_i: the hidden dimensions the features use (at most m for tied models).</summary>
    public double TotalDimensionality => Dimensionality.Sum();
    /// <summary>Mean interference over the represented features (NaN when none is): for a feature with a tiny norm,
    /// W_i-hat is nearly arbitrary and its interference ratio blows up, which would swamp a plain mean.</summary>
    public double MeanInterference
    {
        get
        {
            var represented = Enumerable.Range(0, N).Where(i => Norm[i] > Threshold).Select(i => Interference[i]).ToList();
            return represented.Count > 0 ? represented.Average() : double.NaN;
        }
    }
    /// <summary>The mean of <see cref="Bias"/> (0 without bias).</summary>
    public double MeanBias => Bias.Length == 0 ? 0 : Bias.Average();

    private SuperpositionMetrics(bool effective, int m, double threshold, double[] norm, double[] interference, double[] dimensionality,
        double dStar, int represented, double[] bias)
    {
        Effective = effective; M = m; Threshold = threshold; Norm = norm; Interference = interference;
        Dimensionality = dimensionality; DStar = dStar; FeaturesRepresented = represented; Bias = bias;
    }

    /// <summary>The metrics of instance <paramref name="instance"/> of a parameter buffer in <paramref name="config"/>'s layout.</summary>
    public static SuperpositionMetrics Of(AutoencoderConfig config, ReadOnlySpan<float> parameters, int instance, double threshold = DefaultThreshold) =>
        OfInstance(config, config.Layout.Instance(parameters, instance), threshold);

    /// <summary>The metrics of one instance's parameter block.</summary>
    public static SuperpositionMetrics OfInstance(AutoencoderConfig config, ReadOnlySpan<float> block, double threshold = DefaultThreshold)
    {
        var layout = config.Layout;
        double[] g = config.Tied ? Gram(layout.Encoder.Of(block), config.N, config.M) : EffectiveMatrix(layout.Encoder.Of(block), layout.Decoder.Of(block), config.N, config.M);
        var bias = layout.BiasVector.Of(block);
        var b = new double[bias.Length];
        for (int i = 0; i < b.Length; i++) b[i] = bias[i];
        return FromMatrix(g, config.N, config.M, !config.Tied, b, threshold);
    }

    /// <summary>G = W^T W for W (m x n): G_ij = sum over k ascending of W[k][i] W[k][j].</summary>
    public static double[] Gram(ReadOnlySpan<float> w, int n, int m)
    {
        var g = new double[n * n];
        for (int k = 0; k < m; k++)
            for (int i = 0; i < n; i++)
            {
                double wi = w[k * n + i];
                if (wi == 0) continue;
                for (int j = 0; j < n; j++) g[i * n + j] += wi * w[k * n + j];
            }
        return g;
    }

    /// <summary>E = W_out W_in for W_out (n x m), W_in (m x n): E_ij = sum over k ascending of W_out[i][k] W_in[k][j].</summary>
    public static double[] EffectiveMatrix(ReadOnlySpan<float> wIn, ReadOnlySpan<float> wOut, int n, int m)
    {
        var e = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < m; k++)
            {
                double a = wOut[i * m + k];
                if (a == 0) continue;
                for (int j = 0; j < n; j++) e[i * n + j] += a * wIn[k * n + j];
            }
        return e;
    }

    /// <summary>The metrics of an n x n matrix G (row-major) in the role described in the remarks.</summary>
    internal static SuperpositionMetrics FromMatrix(ReadOnlySpan<double> g, int n, int m, bool effective, double[] bias, double threshold = DefaultThreshold)
    {
        if (g.Length != n * n) throw new ArgumentException($"G has {g.Length} entries; {n} x {n} expected", nameof(g));
        if (!(threshold >= 0) || !double.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "a finite number >= 0");
        var norm = new double[n];
        var interference = new double[n];
        var dimensionality = new double[n];
        double trace = 0;
        int represented = 0;
        for (int i = 0; i < n; i++)
        {
            var row = g.Slice(i * n, n);
            double self = row[i], squares = 0;
            for (int j = 0; j < n; j++) squares += row[j] * row[j];
            trace += self;
            norm[i] = Math.Sqrt(Math.Max(self, 0));
            if (self != 0)
            {
                interference[i] = (squares - self * self) / Math.Abs(self);
                dimensionality[i] = self * self / squares;
            }
            if (norm[i] > threshold) represented++;
        }
        double dStar = trace > 0 ? m / trace : double.NaN;
        return new SuperpositionMetrics(effective, m, threshold, norm, interference, dimensionality, dStar, represented, bias);
    }

    /// <summary>Compact JSON for checkpoint metadata and per-run files; numbers round-trip, a non-finite one (a diverged model's) is null.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("matrix", Effective ? "W_out W_in" : "W^T W");
            json.WriteNumber("threshold", Threshold);
            WriteNumber(json, "dstar", DStar);
            json.WriteNumber("features_represented", FeaturesRepresented);
            WriteNumber(json, "mean_dimensionality", MeanDimensionality);
            WriteArray(json, "norm", Norm);
            WriteArray(json, "interference", Interference);
            WriteArray(json, "dimensionality", Dimensionality);
            WriteArray(json, "bias", Bias);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    internal static SuperpositionMetrics FromJson(string text, int m)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        double[] Array(string name) => root.GetProperty(name).EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble()).ToArray();
        double dStar = root.GetProperty("dstar").ValueKind == JsonValueKind.Null ? double.NaN : root.GetProperty("dstar").GetDouble();
        return new SuperpositionMetrics(root.GetProperty("matrix").GetString() == "W_out W_in", m, root.GetProperty("threshold").GetDouble(),
            Array("norm"), Array("interference"), Array("dimensionality"), dStar, root.GetProperty("features_represented").GetInt32(), Array("bias"));
    }

    /// <summary>Checkpoint metadata entries: "superposition_metrics" holds one JSON object per instance, as a JSON array.</summary>
    public static Dictionary<string, string> Metadata(AutoencoderConfig config, ReadOnlySpan<float> parameters, double threshold = DefaultThreshold)
    {
        var text = new StringBuilder("[");
        for (int s = 0; s < config.InstanceCount; s++)
        {
            if (s > 0) text.Append(',');
            text.Append(Of(config, parameters, s, threshold).ToJson());
        }
        return new Dictionary<string, string> { ["superposition_metrics"] = text.Append(']').ToString() };
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }

    private static void WriteArray(Utf8JsonWriter json, string name, double[] values)
    {
        json.WriteStartArray(name);
        foreach (double v in values)
        {
            if (double.IsFinite(v)) json.WriteNumberValue(v);
            else json.WriteNullValue();
        }
        json.WriteEndArray();
    }

    /// <summary>One line for people: D*, the features represented and the mean D_i.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"D* {DStar:G4}, {FeaturesRepresented}/{N} features with norm > {Threshold}, mean D_i {MeanDimensionality:G4}");
}
