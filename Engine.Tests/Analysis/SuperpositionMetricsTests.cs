using ToyModels.Analysis;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Analysis;

public class SuperpositionMetricsTests
{
    private static AutoencoderConfig Config(int n, int m, bool tied, bool bias = true) =>
        ParityCases.Make(n, m, 4, tied, bias, 0.1, Importance.Uniform, 1);

    /// <summary>A tied model's parameter block from W (m x n) and b.</summary>
    private static float[] Tied(AutoencoderConfig config, double[,] w, float bias = 0)
    {
        var block = new float[config.Layout.PerInstance];
        for (int k = 0; k < config.M; k++)
            for (int i = 0; i < config.N; i++)
                block[k * config.N + i] = (float)w[k, i];
        config.Layout.BiasVector.Of(block.AsSpan()).Fill(bias);
        return block;
    }

    [Fact]
    public void Orthogonal_features_have_dimensionality_one_and_absent_ones_zero()
    {
        var config = Config(5, 3, tied: true);
        var w = new double[3, 5];
        for (int k = 0; k < 3; k++) w[k, k] = 1;
        var metrics = SuperpositionMetrics.OfInstance(config, Tied(config, w, 0.25f));
        Assert.Equal([1.0, 1, 1, 0, 0], metrics.Norm);
        Assert.Equal([1.0, 1, 1, 0, 0], metrics.Dimensionality);
        Assert.All(metrics.Interference, v => Assert.Equal(0.0, v));
        Assert.Equal(1.0, metrics.DStar);
        Assert.Equal(3, metrics.FeaturesRepresented);
        Assert.Equal(0.25, metrics.MeanBias);
        Assert.False(metrics.Effective);
    }

    [Fact]
    public void An_antipodal_pair_shares_one_dimension()
    {
        var config = Config(2, 1, tied: true);
        var metrics = SuperpositionMetrics.OfInstance(config, Tied(config, new double[,] { { 1, -1 } }));
        Assert.Equal([0.5, 0.5], metrics.Dimensionality);
        Assert.Equal([1.0, 1.0], metrics.Interference);
        Assert.Equal(0.5, metrics.DStar);
    }

    [Fact]
    public void A_pentagon_gives_two_fifths_per_feature()
    {
        // Elhage et al.: five features on a regular pentagon in 2-D each have D_i = 2/5.
        var config = Config(5, 2, tied: true);
        var w = new double[2, 5];
        for (int i = 0; i < 5; i++) { w[0, i] = Math.Cos(2 * Math.PI * i / 5); w[1, i] = Math.Sin(2 * Math.PI * i / 5); }
        var metrics = SuperpositionMetrics.OfInstance(config, Tied(config, w));
        Assert.All(metrics.Dimensionality, d => Assert.Equal(0.4, d, 1e-7));
        Assert.Equal(0.4, metrics.DStar, 1e-7);
        Assert.Equal(5, metrics.FeaturesRepresented);
        Assert.Equal(2.0, metrics.TotalDimensionality, 1e-6);
    }

    [Fact]
    public void Untied_with_the_transposed_decoder_equals_tied_and_ignores_how_the_hidden_space_is_parametrised()
    {
        int n = 9, m = 4;
        var tied = Config(n, m, tied: true);
        var untied = Config(n, m, tied: false);
        var random = new Random(3);
        var w = new double[m, n];
        for (int k = 0; k < m; k++) for (int i = 0; i < n; i++) w[k, i] = random.NextDouble() * 2 - 1;
        var tiedMetrics = SuperpositionMetrics.OfInstance(tied, Tied(tied, w));

        var block = new float[untied.Layout.PerInstance];
        var wIn = untied.Layout.Encoder.Of(block.AsSpan());
        var wOut = untied.Layout.Decoder.Of(block.AsSpan());
        for (int k = 0; k < m; k++) for (int i = 0; i < n; i++) { wIn[k * n + i] = (float)w[k, i]; wOut[i * m + k] = (float)w[k, i]; }
        var untiedMetrics = SuperpositionMetrics.OfInstance(untied, block);
        Assert.True(untiedMetrics.Effective);
        Assert.Equal(tiedMetrics.Dimensionality, untiedMetrics.Dimensionality);
        Assert.Equal(tiedMetrics.Norm, untiedMetrics.Norm);
        Assert.Equal(tiedMetrics.DStar, untiedMetrics.DStar);

        // W_in -> 2 W_in, W_out -> W_out / 2 (exact in float): the same function, the same metrics.
        for (int e = 0; e < wIn.Length; e++) { wIn[e] *= 2; wOut[e] /= 2; }
        var rescaled = SuperpositionMetrics.OfInstance(untied, block);
        Assert.Equal(untiedMetrics.Dimensionality, rescaled.Dimensionality);
        Assert.Equal(untiedMetrics.Interference, rescaled.Interference);
    }

    [Fact]
    public void Json_round_trips_and_checkpoints_carry_the_metrics()
    {
        var config = ParityCases.Make(12, 3, 4, false, true, 0.1, Importance.Uniform, 2);
        var parameters = Initialization.Create(config);
        var metrics = SuperpositionMetrics.Of(config, parameters, 1);
        var back = SuperpositionMetrics.FromJson(metrics.ToJson(), config.M);
        Assert.Equal(metrics.Dimensionality, back.Dimensionality);
        Assert.Equal(metrics.Bias, back.Bias);
        Assert.Equal(metrics.DStar, back.DStar);

        string path = Path.Combine(Path.GetTempPath(), $"toymodels-metrics-{Guid.NewGuid():N}.safetensors");
        try
        {
            new Checkpoint(config, 0, parameters, new float[2 * config.Layout.Total], SuperpositionMetrics.Metadata(config, parameters)).Save(path);
            string stored = Checkpoint.Load(path).Metadata["superposition_metrics"];
            Assert.StartsWith("[{\"matrix\":\"W_out W_in\"", stored);
            Assert.Contains(metrics.ToJson(), stored);
        }
        finally { File.Delete(path); }
    }
}
