using ToyModels.Numerics;

namespace ToyModels.Tests.Model;

public class HostMathTests
{
    [Theory]
    [InlineData(1e-300)]
    [InlineData(0.001)]
    [InlineData(0.7)]
    [InlineData(1.0)]
    [InlineData(1.4142135623730951)]
    [InlineData(2.0)]
    [InlineData(12345.678)]
    [InlineData(1e300)]
    public void Log_agrees_with_libm(double x) => Assert.Equal(Math.Log(x), HostMath.Log(x), Math.Abs(Math.Log(x)) * 4e-16 + 1e-300);

    [Theory]
    [InlineData(-700.0)]
    [InlineData(-1.5)]
    [InlineData(0.0)]
    [InlineData(1e-10)]
    [InlineData(0.3465)]
    [InlineData(2.5)]
    [InlineData(700.0)]
    public void Exp_agrees_with_libm(double x) => Assert.Equal(Math.Exp(x), HostMath.Exp(x), Math.Exp(x) * 4e-16);

    [Fact]
    public void CosTwoPi_agrees_with_libm_over_the_circle()
    {
        for (int k = 0; k < 1000; k++)
        {
            double u = k / 1000.0;
            Assert.Equal(Math.Cos(2 * Math.PI * u), HostMath.CosTwoPi(u), 1e-15);
        }
    }

    [Fact]
    public void PowInt_is_exact_for_small_powers_and_close_for_large()
    {
        Assert.Equal(0.9 * 0.9 * 0.9, HostMath.PowInt(0.9, 3), 1e-16);
        Assert.Equal(1.0, HostMath.PowInt(0.999, 0));
        Assert.Equal(Math.Pow(0.999, 100000), HostMath.PowInt(0.999, 100000), Math.Pow(0.999, 100000) * 1e-12);
    }

    [Fact]
    public void R32_adds_within_lanes_first()
    {
        // Elements 0 and 32 share lane 0 and cancel before element 1 (lane 1) meets them: R32 keeps the 1
        // that a left-to-right sum loses to rounding.
        var values = new float[33];
        values[0] = 1e8f; values[1] = 1f; values[32] = -1e8f;
        Assert.Equal(1f, R32.Sum(values));
        Assert.Equal(0f, values.Aggregate(0f, (a, v) => a + v));
    }

    [Fact]
    public void R32_tree_halves_lane_pairs_sixteen_apart()
    {
        // Lanes 0 and 16 meet at h = 16, before lane 8 joins lane 0 at h = 8.
        var values = new float[32];
        values[0] = 1e8f; values[8] = 1f; values[16] = -1e8f;
        Assert.Equal(1f, R32.Sum(values));
        Assert.Equal(0f, R32.Sum([]));
    }
}
