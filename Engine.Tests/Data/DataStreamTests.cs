using ToyModels.Data;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Data;

public class DataStreamTests
{
    [Fact]
    public void Known_answer_seed_42_step_0_sample_0()
    {
        // From the foundation issue: seed 42, step 0, b 0, n 64, p 0.25.
        var expected = new Dictionary<int, double>
        {
            [2] = 0.1269332766532898, [19] = 0.21545296907424927, [22] = 0.43470412492752075, [23] = 0.31823962926864624,
            [24] = 0.33450037240982056, [27] = 0.011762022972106934, [30] = 0.96487957239151, [31] = 0.054879724979400635,
            [33] = 0.8599364161491394, [49] = 0.33499282598495483, [51] = 0.24892735481262207, [52] = 0.5914859771728516,
            [55] = 0.7533011436462402, [63] = 0.25625818967819214,
        };
        var x = new float[64];
        DataStream.Sample(42, DataStream.Threshold(0.25), 0, 0, x);
        for (int i = 0; i < 64; i++)
        {
            float want = expected.TryGetValue(i, out double v) ? (float)v : 0f;
            Bits.Equal(want, x[i], $"x[{i}]");
        }
    }

    [Theory]
    [InlineData(0.0, 0UL)]
    [InlineData(1.0, 1UL << 32)]
    [InlineData(0.25, 1UL << 30)]
    [InlineData(0.045, 193273528UL)]
    public void Threshold_is_floor_p_times_2_to_the_32(double p, ulong threshold) => Assert.Equal(threshold, DataStream.Threshold(p));

    [Fact]
    public void Values_are_exact_24_bit_fractions()
    {
        Assert.Equal(0f, DataStream.Value(0));
        Assert.Equal(16777215f / 16777216f, DataStream.Value(uint.MaxValue));
        Assert.Equal(1f / 16777216f, DataStream.Value(256));
    }

    [Fact]
    public void Evaluation_streams_differ_from_training_streams()
    {
        var train = new float[256];
        var eval = new float[256];
        DataStream.Sample(7, DataStream.Threshold(0.5), 0, 0, train);
        DataStream.Sample(7, DataStream.Threshold(0.5), 0, 0, eval, evaluation: true);
        Assert.NotEqual(train, eval);
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.045)]
    [InlineData(0.5)]
    public void Active_fraction_is_p_and_values_are_uniform(double p)
    {
        // 400 samples of n 1000: N = 400000 Bernoulli(p) draws. The active count is within 5 standard
        // deviations of N p; active values have mean 1/2 and variance 1/12 within 5 standard errors,
        // and every tenth of [0, 1) holds a tenth of them within 5 standard deviations.
        const int n = 1000, samples = 400;
        var x = new float[n];
        long active = 0;
        double sum = 0, sumSquares = 0;
        var deciles = new long[10];
        for (uint b = 0; b < samples; b++)
        {
            DataStream.Sample(99, DataStream.Threshold(p), 3, b, x);
            foreach (float v in x)
            {
                if (v == 0f) continue;
                Assert.InRange(v, 0f, 1f);
                active++;
                sum += v;
                sumSquares += v * (double)v;
                deciles[Math.Min(9, (int)(v * 10))]++;
            }
        }
        double draws = (double)n * samples;
        Assert.InRange(active, draws * p - 5 * Math.Sqrt(draws * p * (1 - p)), draws * p + 5 * Math.Sqrt(draws * p * (1 - p)));
        double mean = sum / active, variance = sumSquares / active - mean * mean;
        Assert.InRange(mean, 0.5 - 5 * Math.Sqrt(1.0 / 12 / active), 0.5 + 5 * Math.Sqrt(1.0 / 12 / active));
        Assert.InRange(variance, 1.0 / 12 - 5 * Math.Sqrt(1.0 / 180 / active), 1.0 / 12 + 5 * Math.Sqrt(1.0 / 180 / active));
        foreach (long count in deciles)
            Assert.InRange(count, active / 10.0 - 5 * Math.Sqrt(active * 0.09), active / 10.0 + 5 * Math.Sqrt(active * 0.09));
    }
}
