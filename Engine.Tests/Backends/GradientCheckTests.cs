using ToyModels.Backends;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// The reference's hand-written gradients against central finite differences of the loss, all in
/// double (numerics.md rule 7), and the reference's float gradients against the same formulas
/// evaluated in double.
/// </summary>
public class GradientCheckTests
{
    public static IEnumerable<object[]> Cases =>
    [
        ["untied-bias", 13, 5, 7, false, true, "uniform"],
        ["untied-nobias-decay", 9, 4, 11, false, false, "decay:0.8"],
        ["tied-bias-power", 17, 6, 5, true, true, "power:1.5"],
        ["tied-nobias", 8, 3, 9, true, false, "uniform"],
        ["ragged-wide", 33, 7, 3, false, true, "power:0.7"],
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_finite_differences(string name, int n, int m, int batch, bool tied, bool bias, string importance)
    {
        var config = ParityCases.Make(n, m, batch, tied, bias, 0.35, Importance.Parse(importance), 1);
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        backend.GenerateBatch(0);
        backend.Forward();
        backend.Backward();
        var parameters = new float[config.Layout.Total];
        var gradients = new float[config.Layout.Total];
        var x = new float[batch * n];
        var rowLoss = new float[batch];
        backend.GetParameters(parameters);
        backend.Read(TensorKind.Gradients, gradients);
        backend.Read(TensorKind.X, x);
        backend.Read(TensorKind.RowLoss, rowLoss);
        var model = new DoubleModel(config, x);
        double[] p = parameters.Select(v => (double)v).ToArray();

        double[] analytic = model.Gradient(p);
        double scale = analytic.Max(Math.Abs);
        Assert.True(scale > 0, $"{name}: all gradients are zero; the case tests nothing");
        for (int e = 0; e < p.Length; e++)
        {
            double step = 1e-6 * Math.Max(1, Math.Abs(p[e]));
            double saved = p[e];
            p[e] = saved + step; double up = model.Loss(p);
            p[e] = saved - step; double down = model.Loss(p);
            p[e] = saved;
            double numeric = (up - down) / (2 * step);
            Assert.True(Math.Abs(numeric - analytic[e]) <= 1e-6 * scale + 1e-12,
                $"{name}: parameter {e}: finite difference {numeric:R}, analytic {analytic[e]:R}");
            Assert.True(Math.Abs(gradients[e] - analytic[e]) <= 1e-5 * scale,
                $"{name}: parameter {e}: engine {gradients[e]:R}, double {analytic[e]:R}");
        }
        var loss = new float[1];
        LossReduction.Finish(rowLoss, batch, n, loss);
        double exact = model.Loss(p);
        Assert.True(Math.Abs(loss[0] - exact) <= 1e-6 * exact, $"{name}: engine loss {loss[0]:R}, double {exact:R}");
    }

    /// <summary>numerics.md rule 0 in double: the model, its loss and its gradients, written plainly.</summary>
    private sealed class DoubleModel(AutoencoderConfig config, float[] x)
    {
        private readonly int _n = config.N, _m = config.M, _b = config.Batch;
        private readonly float[] _importance = config.Instances[0].Importance.Compute(config.N);
        private readonly ParameterLayout _layout = config.Layout;

        private double WIn(double[] p, int j, int i) => p[_layout.Encoder.Offset + j * _n + i];
        private double WOut(double[] p, int i, int j) => config.Tied ? WIn(p, j, i) : p[_layout.Decoder.Offset + i * _m + j];
        private double Bias(double[] p, int i) => config.Bias ? p[_layout.BiasVector.Offset + i] : 0;

        private (double[] H, double[] Z) Forward(double[] p)
        {
            var h = new double[_b * _m];
            var z = new double[_b * _n];
            for (int r = 0; r < _b; r++)
            {
                for (int j = 0; j < _m; j++)
                    for (int i = 0; i < _n; i++) h[r * _m + j] += WIn(p, j, i) * x[r * _n + i];
                for (int i = 0; i < _n; i++)
                {
                    double acc = Bias(p, i);
                    for (int j = 0; j < _m; j++) acc += WOut(p, i, j) * h[r * _m + j];
                    z[r * _n + i] = acc;
                }
            }
            return (h, z);
        }

        public double Loss(double[] p)
        {
            var (_, z) = Forward(p);
            double sum = 0;
            for (int r = 0; r < _b; r++)
                for (int i = 0; i < _n; i++)
                {
                    double d = Math.Max(z[r * _n + i], 0) - x[r * _n + i];
                    sum += _importance[i] * d * d;
                }
            return sum / (_b * (double)_n);
        }

        public double[] Gradient(double[] p)
        {
            var (h, z) = Forward(p);
            var g = new double[p.Length];
            for (int r = 0; r < _b; r++)
            {
                var gz = new double[_n];
                for (int i = 0; i < _n; i++)
                {
                    double zi = z[r * _n + i];
                    gz[i] = zi > 0 ? 2.0 / (_b * (double)_n) * _importance[i] * (zi - x[r * _n + i]) : 0;
                }
                var gh = new double[_m];
                for (int i = 0; i < _n; i++)
                {
                    if (config.Bias) g[_layout.BiasVector.Offset + i] += gz[i];
                    for (int j = 0; j < _m; j++)
                    {
                        gh[j] += WOut(p, i, j) * gz[i];
                        if (config.Tied) g[_layout.Encoder.Offset + j * _n + i] += gz[i] * h[r * _m + j];
                        else g[_layout.Decoder.Offset + i * _m + j] += gz[i] * h[r * _m + j];
                    }
                }
                for (int j = 0; j < _m; j++)
                    for (int i = 0; i < _n; i++)
                        g[_layout.Encoder.Offset + j * _n + i] += gh[j] * x[r * _n + i];
            }
            return g;
        }
    }
}
