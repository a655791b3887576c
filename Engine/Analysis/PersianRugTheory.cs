namespace ToyModels.Analysis;

/// <summary>The best (a, b) of the theory and the loss it reaches.</summary>
/// <param name="Loss">min over a, b of L(a, b).</param>
/// <param name="A">The output scale a at the minimum (0 when no scale beats the zero output).</param>
/// <param name="B">The bias b at the minimum.</param>
public readonly record struct RugOptimum(double Loss, double A, double B);

/// <summary>
/// The large-n Gaussian theory of the Persian rug's loss (Cowsik, Dolev, Infanger 2024), in closed form.
/// </summary>
/// <remarks>
/// <para>The rug's output on feature i is ReLU(a (x_i + nu_i + b)), where the interference
/// nu_i = sum_{j != i} (W_out W_in)_ij x_j is, for large n, normal with mean mu = -p/2 and variance
/// s^2 = (n/m - 1)(p/3 - p^2/4): (W_out W_in)^2 = (n/m) W_out W_in gives sum_{j != i} (W_out W_in)_ij^2 = n/m - 1,
/// and x_j = (active) * U[0, 1) has mean p/2 and variance p/3 - p^2/4. With x_i = 0 (probability 1 - p) or
/// x ~ U[0, 1] (probability p), the loss per feature is</para>
/// <code>L(a, b) = (1 - p) E[ReLU(a (nu + b))^2] + p * integral_0^1 E[(ReLU(a (x + nu + b)) - x)^2] dx.</code>
/// <para>Closed form. Let y ~ N(mu', s^2) and M_k(mu') = E[(y)_+^k], the truncated moments:
/// M_0 = Phi(t), M_1 = mu' Phi(t) + s phi(t), and M_k = mu' M_{k-1} + (k - 1) s^2 M_{k-2} (Stein's lemma),
/// t = mu'/s. They satisfy dM_k/dmu' = k M_{k-1}, which turns the integral over x into differences.
/// With c = b + mu and a &gt; 0, expanding (ReLU(a y) - x)^2 = x^2 + [y &gt; 0](a^2 y^2 - 2 a x y):</para>
/// <code>
/// L = (1 - p) a^2 M_2(c) + p/3 + p (a^2 + a) (M_3(c + 1) - M_3(c)) / 3 - p a M_2(c + 1)
/// </code>
/// <para>(integral_0^1 M_2(x + c) dx = (M_3(c+1) - M_3(c))/3, integral_0^1 x M_1(x + c) dx = M_2(c+1)/2 - (M_3(c+1) - M_3(c))/6).
/// For a &lt; 0, ReLU(a y) = |a| (-y)_+ and the same steps give</para>
/// <code>
/// L = (1 - p) a^2 M_2(-c) + p/3 + p (a^2 - |a|) (M_3(-c) - M_3(-c - 1)) / 3 + p |a| M_2(-c - 1).
/// </code>
/// <para>For fixed c each branch is a quadratic in |a|, so min over a is p/3 - beta^2 / (4 alpha) when the
/// linear coefficient beta is negative (else a = 0, the zero output, p/3). What remains is a 1-D minimisation
/// over c: a dense scan, then golden-section refinement around the best point.</para>
/// </remarks>
public static class PersianRugTheory
{
    /// <summary>mu = -p/2: the mean interference (for rug rows that exclude the all-ones row 0 of the Hadamard matrix).</summary>
    public static double InterferenceMean(double p) => -p / 2;

    /// <summary>s^2 = (n/m - 1)(p/3 - p^2/4), 0 when m &gt;= n.</summary>
    public static double InterferenceVariance(int n, int m, double p) =>
        Math.Max(0.0, ((double)n / m - 1) * (p / 3 - p * p / 4));

    /// <summary>L(a, b) for interference N(mean, sd^2), in closed form.</summary>
    public static double Loss(double a, double b, double p, double mean, double sd)
    {
        var (alpha, beta) = Quadratic(b + mean, p, sd, negative: a < 0);
        double t = Math.Abs(a);
        return alpha * t * t + beta * t + p / 3;
    }

    /// <summary>min over a, b of L(a, b) for the rug with n features and m hidden dimensions at sparsity p.</summary>
    public static RugOptimum Minimize(int n, int m, double p)
    {
        if (n < 1 || m < 1) throw new ArgumentOutOfRangeException(nameof(n), $"n = {n}, m = {m}: both must be >= 1");
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in [0, 1]");
        return Minimize(p, InterferenceMean(p), Math.Sqrt(InterferenceVariance(n, m, p)));
    }

    /// <summary>min over a, b of L(a, b) for interference N(mean, sd^2).</summary>
    public static RugOptimum Minimize(double p, double mean, double sd)
    {
        if (p == 0) return new RugOptimum(0, 0, 0);
        // The best c = b + mean lies within a few s of the interval where x + nu lives; outside, the loss is p/3 or more.
        double low = -1.5 - 12 * sd, high = 1.5 + 12 * sd;
        const int points = 600;
        double bestC = 0, bestLoss = double.PositiveInfinity;
        for (int k = 0; k <= points; k++)
        {
            double c = low + (high - low) * k / points;
            double loss = Best(c, p, sd).Loss;
            if (loss < bestLoss) { bestLoss = loss; bestC = c; }
        }
        double step = (high - low) / points;
        double left = bestC - step, right = bestC + step;
        const double invPhi = 0.61803398874989484820;
        double x1 = right - invPhi * (right - left), x2 = left + invPhi * (right - left);
        double f1 = Best(x1, p, sd).Loss, f2 = Best(x2, p, sd).Loss;
        for (int k = 0; k < 100 && right - left > 1e-13; k++)
        {
            if (f1 < f2) { right = x2; x2 = x1; f2 = f1; x1 = right - invPhi * (right - left); f1 = Best(x1, p, sd).Loss; }
            else { left = x1; x1 = x2; f1 = f2; x2 = left + invPhi * (right - left); f2 = Best(x2, p, sd).Loss; }
        }
        double c0 = 0.5 * (left + right);
        var (loss0, a0) = Best(c0, p, sd);
        if (bestLoss < loss0) { c0 = bestC; (loss0, a0) = Best(bestC, p, sd); }
        return new RugOptimum(loss0, a0, a0 == 0 ? 0 : c0 - mean);
    }

    /// <summary>For fixed c, the best a over both signs and the loss it gives.</summary>
    private static (double Loss, double A) Best(double c, double p, double sd)
    {
        double loss = p / 3, a = 0;
        foreach (bool negative in new[] { false, true })
        {
            var (alpha, beta) = Quadratic(c, p, sd, negative);
            if (beta >= 0 || alpha <= 0) continue;
            double t = -beta / (2 * alpha);
            double value = p / 3 - beta * beta / (4 * alpha);
            if (value < loss) { loss = value; a = negative ? -t : t; }
        }
        return (loss, a);
    }

    /// <summary>L = alpha |a|^2 + beta |a| + p/3 on the branch a &gt; 0 or a &lt; 0, for c = b + mean.</summary>
    private static (double Alpha, double Beta) Quadratic(double c, double p, double sd, bool negative)
    {
        if (!negative)
        {
            double d = TruncatedMoment(3, c + 1, sd) - TruncatedMoment(3, c, sd);
            return ((1 - p) * TruncatedMoment(2, c, sd) + p * d / 3, p * d / 3 - p * TruncatedMoment(2, c + 1, sd));
        }
        double e = TruncatedMoment(3, -c, sd) - TruncatedMoment(3, -c - 1, sd);
        return ((1 - p) * TruncatedMoment(2, -c, sd) + p * e / 3, -p * e / 3 + p * TruncatedMoment(2, -c - 1, sd));
    }

    /// <summary>M_k(mean) = E[(y)_+^k] for y ~ N(mean, sd^2); (mean)_+^k when sd = 0.</summary>
    internal static double TruncatedMoment(int k, double mean, double sd)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k));
        if (sd == 0) return mean > 0 ? Math.Pow(mean, k) : 0;
        double t = mean / sd;
        double m0 = Normal.Cdf(t);
        if (k == 0) return m0;
        double m1 = mean * m0 + sd * Normal.Density(t);
        double previous = m0, current = m1;
        for (int j = 2; j <= k; j++)
        {
            double next = mean * current + (j - 1) * sd * sd * previous;
            previous = current;
            current = next;
        }
        return current;
    }
}
