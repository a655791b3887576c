using ToyModels.Model;

namespace ToyModels.Analysis;

/// <summary>The losses any trained model should beat (loss as the engine defines it: mean over features).</summary>
public static class Baselines
{
    /// <summary>The all-zero output: p/3 times the mean importance (E[u^2] = 1/3 for u ~ U[0, 1)).</summary>
    public static double Zero(int n, double p, Importance importance) => p / 3 * importance.Compute(n).Average(v => (double)v);

    /// <summary>
    /// The best linear model for uniform importance, (n - m - 1) p / (3 n) (Cowsik, Dolev, Infanger 2024), 0 when m &gt;= n - 1;
    /// null for other importances (the formula does not apply).
    /// </summary>
    public static double? Linear(int n, int m, double p, Importance importance) =>
        importance.Kind == ImportanceKind.Uniform ? Math.Max(0, n - m - 1) * p / (3.0 * n) : null;
}
