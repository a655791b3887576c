namespace ToyModels.Numerics;

/// <summary>
/// The double-precision functions that host-side constants need (importance r^i and (i+1)^(-k/2),
/// Adam's bias corrections beta^t, Xavier-normal initialisation), written with + - * / and exact
/// scaling only, so every machine computes the same bits whatever its libm.
/// </summary>
/// <remarks>
/// Accuracy is a few ulp of double; that is far below the float rounding that follows
/// (numerics.md rule 1: such constants are computed in double and rounded once to float).
/// </remarks>
internal static class HostMath
{
    private const double Ln2Hi = 6.93147180369123816490e-01; // high bits of ln 2, exact product with small ints
    private const double Ln2Lo = 1.90821492927058770002e-10;
    private const double InvLn2 = 1.44269504088896338700e+00;

    /// <summary>x^e for an integer exponent by binary exponentiation (square and multiply, most significant bit first).</summary>
    public static double PowInt(double x, long e)
    {
        if (e < 0) return 1.0 / PowInt(x, -e);
        double result = 1.0;
        for (int bit = 62; bit >= 0; bit--)
        {
            result *= result;
            if (((e >> bit) & 1) != 0) result *= x;
        }
        return result;
    }

    /// <summary>Natural logarithm of a positive finite x.</summary>
    public static double Log(double x)
    {
        if (!(x > 0) || double.IsInfinity(x)) throw new ArgumentOutOfRangeException(nameof(x), x, "Log needs a positive finite argument");
        int e = Math.ILogB(x);
        double f = Math.ScaleB(x, -e); // f in [1, 2), exact
        if (f > 1.4142135623730951) { f *= 0.5; e++; }
        // log f = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (f - 1) / (f + 1), |s| <= 0.1716
        double s = (f - 1.0) / (f + 1.0);
        double s2 = s * s;
        double term = s, sum = 0.0;
        for (int k = 1; k < 60; k += 2)
        {
            double add = term / k;
            sum += add;
            if (Math.Abs(add) < 1e-18 * Math.Abs(sum)) break;
            term *= s2;
        }
        return e * Ln2Hi + (e * Ln2Lo + 2.0 * sum);
    }

    /// <summary>e^x; overflows to +infinity and underflows to 0 like the real function.</summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > 709.8) return double.PositiveInfinity;
        if (x < -745.2) return 0.0;
        double k = Math.Round(x * InvLn2);
        double r = (x - k * Ln2Hi) - k * Ln2Lo; // |r| <= 0.35
        double term = 1.0, sum = 1.0;
        for (int i = 1; i < 30; i++)
        {
            term *= r / i;
            sum += term;
            if (Math.Abs(term) < 1e-18 * sum) break;
        }
        return Math.ScaleB(sum, (int)k);
    }

    /// <summary>x^y for x &gt; 0.</summary>
    public static double Pow(double x, double y) => y == 0 ? 1.0 : Exp(y * Log(x));

    /// <summary>cos(2 pi u) for u in [0, 1), with the reduction done exactly on u.</summary>
    public static double CosTwoPi(double u)
    {
        if (!(u >= 0 && u < 1)) throw new ArgumentOutOfRangeException(nameof(u), u, "CosTwoPi needs u in [0, 1)");
        // Fold onto [0, 1/2] (cos is even about 1/2), then onto [0, 1/4] with cos(2 pi (1/2 - v)) = -cos(2 pi v).
        if (u > 0.5) u = 1.0 - u;
        double sign = 1.0;
        if (u > 0.25) { u = 0.5 - u; sign = -1.0; }
        // Now u in [0, 1/4]: cos for u <= 1/8, else sin(2 pi (1/4 - u)).
        return u <= 0.125 ? sign * CosSeries(2 * Math.PI * u) : sign * SinSeries(2 * Math.PI * (0.25 - u));
    }

    private static double CosSeries(double x)
    {
        double x2 = x * x, term = 1.0, sum = 1.0;
        for (int k = 2; k < 40; k += 2)
        {
            term *= -x2 / ((k - 1) * k);
            sum += term;
            if (Math.Abs(term) < 1e-18) break;
        }
        return sum;
    }

    private static double SinSeries(double x)
    {
        double x2 = x * x, term = x, sum = x;
        for (int k = 3; k < 40; k += 2)
        {
            term *= -x2 / ((k - 1) * k);
            sum += term;
            if (Math.Abs(term) < 1e-18) break;
        }
        return sum;
    }
}
