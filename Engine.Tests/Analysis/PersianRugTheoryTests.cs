using ToyModels.Analysis;

namespace ToyModels.Tests.Analysis;

public class PersianRugTheoryTests
{
    /// <summary>
    /// L(a, b) by brute force: Simpson's rule over z (split at the ReLU's kink so each piece is smooth) for
    /// E over nu = mean + sd Z, then Simpson over x in [0, 1]. Independent of the closed form's algebra.
    /// </summary>
    private static double Quadrature(double a, double b, double p, double mean, double sd)
    {
        double Inner(double x)
        {
            double c = x + mean + b;
            double F(double z)
            {
                double y = a * (c + sd * z);
                double r = y > 0 ? y : 0;
                return (r - x) * (r - x) * Normal.Density(z);
            }
            double kink = sd > 0 ? Math.Clamp(-c / sd, -12, 12) : 0;
            return Simpson(F, -12, kink, 2000) + Simpson(F, kink, 12, 2000);
        }
        return (1 - p) * Inner(0) + p * Simpson(Inner, 0, 1, 200);
    }

    private static double Simpson(Func<double, double> f, double low, double high, int intervals)
    {
        if (high <= low) return 0;
        double h = (high - low) / intervals, sum = f(low) + f(high);
        for (int k = 1; k < intervals; k++) sum += f(low + k * h) * (k % 2 == 1 ? 4 : 2);
        return sum * h / 3;
    }

    [Theory]
    [InlineData(1.0, 0.0, 0.05, -0.025, 0.2)]
    [InlineData(1.3, -0.32, 0.045, -0.0225, 0.21)]
    [InlineData(-0.7, 0.3, 0.1, -0.05, 0.3)]      // the a < 0 branch
    [InlineData(2.0, -0.3, 0.3, -0.15, 0.5)]
    [InlineData(0.8, 0.1, 0.9, -0.45, 0.05)]      // dense, little interference
    [InlineData(1.1, -1.5, 0.02, -0.01, 0.1)]     // bias far below: output mostly zero
    public void Closed_form_matches_quadrature(double a, double b, double p, double mean, double sd)
    {
        double closed = PersianRugTheory.Loss(a, b, p, mean, sd);
        double numeric = Quadrature(a, b, p, mean, sd);
        Assert.True(Math.Abs(closed - numeric) < 1e-9 * numeric + 1e-15, $"closed form {closed:R}, quadrature {numeric:R}");
    }

    [Fact]
    public void Closed_form_matches_monte_carlo()
    {
        // A second, cruder check with the distribution sampled: 2 million draws, 5 standard errors.
        var random = new Random(12345);
        double a = 1.25, b = -0.3, p = 0.045, mean = -0.0225, sd = 0.2085;
        const int draws = 2_000_000;
        double sum = 0, sumSquares = 0;
        for (int k = 0; k < draws; k++)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            double nu = mean + sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            double x = random.NextDouble() < p ? random.NextDouble() : 0;
            double y = a * (x + nu + b);
            double r = (y > 0 ? y : 0) - x;
            sum += r * r;
            sumSquares += r * r * r * r;
        }
        double estimate = sum / draws, error = Math.Sqrt((sumSquares / draws - estimate * estimate) / draws);
        double closed = PersianRugTheory.Loss(a, b, p, mean, sd);
        Assert.True(Math.Abs(closed - estimate) < 5 * error, $"closed form {closed:R}, Monte Carlo {estimate:R} +- {error:E2}");
    }

    [Fact]
    public void Without_interference_the_rug_is_perfect_and_the_zero_output_costs_p_over_3()
    {
        Assert.Equal(0.0, PersianRugTheory.Loss(1, 0, 0.1, 0, 0), 1e-16);
        Assert.Equal(0.1 / 3, PersianRugTheory.Loss(0, 0.3, 0.1, -0.05, 0.2), 1e-16);
        var best = PersianRugTheory.Minimize(64, 64, 0.1); // m = n: s = 0
        Assert.Equal(0.0, best.Loss, 1e-12);
        Assert.Equal(1.0, best.A, 1e-6);
    }

    [Theory]
    [InlineData(512, 128, 0.045)]
    [InlineData(1024, 64, 0.01)]
    [InlineData(256, 200, 0.3)]
    [InlineData(64, 8, 0.5)]
    public void The_minimum_is_a_minimum_and_beats_the_baselines_where_the_rug_should(int n, int m, double p)
    {
        var best = PersianRugTheory.Minimize(n, m, p);
        double mean = PersianRugTheory.InterferenceMean(p), sd = Math.Sqrt(PersianRugTheory.InterferenceVariance(n, m, p));
        Assert.Equal(best.Loss, PersianRugTheory.Loss(best.A, best.B, p, mean, sd), 1e-14);
        foreach (double da in new[] { -1e-3, 0, 1e-3 })
            foreach (double db in new[] { -1e-3, 0, 1e-3 })
                Assert.True(PersianRugTheory.Loss(best.A + da, best.B + db, p, mean, sd) >= best.Loss - 1e-15, $"a {best.A + da}, b {best.B + db} is lower");
        var random = new Random(7);
        for (int k = 0; k < 2000; k++)
        {
            double a = random.NextDouble() * 8 - 3, b = random.NextDouble() * 4 - 2;
            Assert.True(PersianRugTheory.Loss(a, b, p, mean, sd) >= best.Loss, $"a {a}, b {b} beats the minimum");
        }
        Assert.True(best.Loss <= p / 3);
    }

    [Fact]
    public void Paper_setting_beats_the_best_linear_model_by_far()
    {
        // n 512, m 128, p 0.045: the rug's large-n loss is well below the best linear model's (n-m-1)p/(3n).
        var best = PersianRugTheory.Minimize(512, 128, 0.045);
        Assert.InRange(best.Loss, 0.0040, 0.0060);
        Assert.True(best.Loss < 0.5 * (512 - 128 - 1) * 0.045 / (3 * 512));
    }

    [Fact]
    public void Truncated_moments_follow_their_recursion_and_derivatives()
    {
        double mean = -0.13, sd = 0.37, h = 1e-5;
        for (int k = 1; k <= 4; k++)
        {
            double derivative = (PersianRugTheory.TruncatedMoment(k, mean + h, sd) - PersianRugTheory.TruncatedMoment(k, mean - h, sd)) / (2 * h);
            Assert.Equal(k * PersianRugTheory.TruncatedMoment(k - 1, mean, sd), derivative, 1e-8);
        }
        // M_2 = E[y^2; y > 0] for y ~ N(mean, sd^2): (mean^2 + sd^2) Phi(t) + mean sd phi(t).
        double t = mean / sd;
        Assert.Equal((mean * mean + sd * sd) * Normal.Cdf(t) + mean * sd * Normal.Density(t), PersianRugTheory.TruncatedMoment(2, mean, sd), 1e-16);
    }
}
