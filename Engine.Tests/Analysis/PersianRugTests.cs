using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.Model;
using ToyModels.Training;

namespace ToyModels.Tests.Analysis;

public class PersianRugTests
{
    [Fact]
    public void Hadamard_rows_are_orthogonal()
    {
        const int n = 16;
        for (int r = 0; r < n; r++)
            for (int q = 0; q < n; q++)
            {
                int dot = 0;
                for (int i = 0; i < n; i++) dot += Hadamard.Entry(r, i) * Hadamard.Entry(q, i);
                Assert.Equal(r == q ? n : 0, dot);
            }
    }

    [Fact]
    public void Rows_are_distinct_seeded_and_a_full_draw_is_a_permutation()
    {
        var rug = PersianRug.Create(64, 20, 5);
        Assert.Equal(20, rug.Rows.Distinct().Count());
        Assert.All(rug.Rows, r => Assert.InRange(r, 0, 63));
        Assert.Equal(rug.Rows, PersianRug.Create(64, 20, 5).Rows);
        Assert.NotEqual(rug.Rows, PersianRug.Create(64, 20, 6).Rows);
        Assert.Equal(Enumerable.Range(0, 32), PersianRug.Create(32, 32, 9).Rows.Order());
        Assert.Throws<ConfigException>(() => PersianRug.Create(48, 8, 0));
        Assert.Throws<ConfigException>(() => PersianRug.Create(16, 17, 0));
    }

    [Fact]
    public void The_shuffle_is_uniform()
    {
        // Chi-square over 8000 seeds of which row comes first (n = 8): 7 degrees of freedom, 0.1% critical value 24.3.
        var counts = new int[8];
        for (ulong seed = 0; seed < 8000; seed++) counts[PersianRug.Create(8, 3, seed).Rows[0]]++;
        double chi2 = counts.Sum(c => (c - 1000.0) * (c - 1000.0) / 1000.0);
        Assert.True(chi2 < 24.3, $"chi-square {chi2:F1} over counts [{string.Join(", ", counts)}]");
    }

    [Fact]
    public void The_effective_matrix_is_the_product_has_unit_diagonal_and_depends_on_i_xor_j()
    {
        int n = 32, m = 8;
        var rug = PersianRug.Create(n, m, 11);
        var e = rug.EffectiveMatrix();
        float[] wIn = rug.Encoder();
        double[] wOut = rug.UnitDecoder();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double product = 0;
                for (int k = 0; k < m; k++) product += wOut[i * m + k] * wIn[k * n + j];
                Assert.Equal(product, e[i * n + j], 1e-15);
                Assert.Equal(e[0 * n + (i ^ j)], e[i * n + j]);
            }
        for (int i = 0; i < n; i++) Assert.Equal(1.0, e[i * n + i]);
        // E^2 = (n/m) E, hence sum_{j != i} E_ij^2 = n/m - 1, the theory's variance factor.
        for (int i = 0; i < n; i++) Assert.Equal((double)n / m - 1, Enumerable.Range(0, n).Where(j => j != i).Sum(j => e[i * n + j] * e[i * n + j]), 1e-12);
    }

    [Fact]
    public void The_gradient_chained_from_the_engine_matches_a_direct_double_computation()
    {
        int n = 32, m = 8, batch = 64;
        var config = AutoencoderConfig.Create(n, m, 0.15, 1e-3, batch: batch, seed: 3);
        using var backend = BackendFactory.Create(BackendKind.Auto, config);
        var rug = PersianRug.Create(n, m, 4);
        double a = 1.3, b = -0.08;
        var (da, db) = new RugGradient(backend, rug).At(a, b, step: 2);

        var x = new float[batch * n];
        backend.Read(TensorKind.X, x);
        var e = rug.EffectiveMatrix();
        double ga = 0, gb = 0;
        for (int r = 0; r < batch; r++)
            for (int i = 0; i < n; i++)
            {
                double u = b;
                for (int j = 0; j < n; j++) u += e[i * n + j] * x[r * n + j];
                double z = a * u;
                if (z <= 0) continue;
                double g = 2.0 / (batch * n) * (z - x[r * n + i]);
                ga += g * u;
                gb += g * a;
            }
        Assert.Equal(ga, da, Math.Abs(ga) * 1e-4);
        Assert.Equal(gb, db, Math.Abs(gb) * 1e-4);
    }

    [Fact]
    public void A_cancelled_fit_throws_with_its_token_between_steps()
    {
        var config = AutoencoderConfig.Create(16, 4, 0.1, 1e-3, batch: 32, seed: 1);
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        var rug = PersianRug.Create(16, 4, 0);
        using var cancel = new CancellationTokenSource();
        var reports = new List<int>();
        var e = Assert.ThrowsAny<OperationCanceledException>(() => PersianRugFit.Fit(backend, rug, new RugFitOptions { Steps = 100 },
            new SyncProgress<RugFitProgress>(q => { reports.Add(q.Step); cancel.Cancel(); }), cancel.Token));
        Assert.Equal(cancel.Token, e.CancellationToken);
        Assert.Equal([10], reports); // stopped before step 11, after the report of step 10
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void The_fit_lowers_the_loss_to_a_local_minimum_on_the_evaluation_set()
    {
        int n = 64, m = 16;
        var config = AutoencoderConfig.Create(n, m, 0.08, 1e-3, batch: 256, seed: 1);
        using var backend = BackendFactory.Create(BackendKind.Auto, config);
        var rug = PersianRug.Create(n, m, 2);
        var fit = PersianRugFit.Fit(backend, rug, new RugFitOptions { Steps = 150, LearningRate = 0.03 });

        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 4096 });
        var parameters = new float[config.Layout.Total];
        float Eval(double a, double b)
        {
            rug.WriteParameters(config, parameters, a, b);
            backend.SetParameters(parameters);
            return trainer.Evaluate()[0];
        }
        float fitted = Eval(fit.A, fit.B);
        Assert.True(fitted < 0.8 * Eval(1, 0), $"fitted {fitted}, start {Eval(1, 0)}");
        foreach (double da in new[] { -0.1, 0.1 })
            foreach (double db in new[] { -0.03, 0.03 })
                Assert.True(fitted <= 1.01 * Eval(fit.A + da, fit.B + db), $"(a, b) = ({fit.A + da}, {fit.B + db}) beats the fit ({fit.A}, {fit.B})");
    }
}
