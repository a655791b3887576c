using ToyModels.Analysis;

namespace ToyModels.Tests.Analysis;

public class NormalTests
{
    // 30-digit reference values from mpmath (mp.dps = 30), rounded to double here.
    [Theory]
    [InlineData(0.1, 0.112462916018284892203275071744)]
    [InlineData(0.5, 0.520499877813046537682746653892)]
    [InlineData(1.0, 0.842700792949714869341220635083)]
    [InlineData(2.0, 0.995322265018952734162069256367)]
    [InlineData(2.5, 0.99959304798255504106043578426)]
    [InlineData(3.0, 0.99997790950300141455862722387)]
    [InlineData(5.0, 0.99999999999846254020557196515)]
    public void Erf_matches_30_digit_values(double x, double expected)
    {
        Assert.Equal(expected, Normal.Erf(x), 4 * Math.BitIncrement(expected) - 4 * expected);
        Assert.Equal(-expected, Normal.Erf(-x), 4 * Math.BitIncrement(expected) - 4 * expected);
    }

    [Theory]
    [InlineData(0.1, 0.887537083981715107796724928256)]
    [InlineData(0.5, 0.479500122186953462317253346108)]
    [InlineData(1.0, 0.157299207050285130658779364917)]
    [InlineData(2.0, 0.00467773498104726583793074363275)]
    [InlineData(2.5, 0.000406952017444958939564215739975)]
    [InlineData(3.0, 0.0000220904969985854413727761295823)]
    [InlineData(5.0, 1.53745979442803485018834348538e-12)]
    [InlineData(10.0, 2.08848758376254475700078629496e-45)]
    [InlineData(26.0, 5.66319240885614284647572789693e-296)]
    public void Erfc_keeps_relative_accuracy_into_the_far_tail(double x, double expected)
    {
        double relative = Math.Abs(Normal.Erfc(x) - expected) / expected;
        Assert.True(relative < 2e-15, $"erfc({x}) = {Normal.Erfc(x):R}, expected {expected:R} (relative error {relative:E2})");
        Assert.Equal(2 - expected, Normal.Erfc(-x), 1e-15);
    }

    [Fact]
    public void Erf_is_odd_continuous_at_the_switch_and_saturates()
    {
        Assert.Equal(0.0, Normal.Erf(0.0));
        Assert.Equal(1.1283791670955126e-10, Normal.Erf(1e-10), 1e-25);
        Assert.Equal(Normal.Erf(Math.BitDecrement(2.0)), Normal.Erf(2.0), 1e-15);
        Assert.Equal(1.0, Normal.Erf(30));
        Assert.Equal(0.0, Normal.Erfc(40));
        Assert.True(double.IsNaN(Normal.Erf(double.NaN)));
    }

    [Fact]
    public void Cdf_and_density_are_the_standard_normal()
    {
        Assert.Equal(0.5, Normal.Cdf(0));
        Assert.Equal(0.841344746068542948585232545632, Normal.Cdf(1), 1e-15);          // mpmath ncdf(1)
        Assert.Equal(1.77648211207767899769617100185e-33, Normal.Cdf(-12), 4e-47);
        // mpmath ncdf(-12): the lower tail keeps its digits up to the conditioning of erfc at 12/sqrt 2 (2 x^2 ulp of x ~ 2e-14).
        Assert.Equal(0.398942280401432677939946059934, Normal.Density(0), 1e-16);
        Assert.Equal(Normal.Density(1.3), Normal.Density(-1.3));
    }
}
