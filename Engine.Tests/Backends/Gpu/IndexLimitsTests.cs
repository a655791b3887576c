using ToyModels.Gpu.Kernels;
using ToyModels.Model;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>The GPU kernels' 32-bit indexes: a run with a larger buffer is refused before anything is allocated.</summary>
public class IndexLimitsTests
{
    [Theory]
    [InlineData(1, 65536, 16384, 256, false, 0, "parameters")]        // 2 n m + n > 2^31 - 1
    [InlineData(1, 65536, 8192, 256, false, 2, "optimizer state")]   // parameters fit, Adam's two slots do not
    [InlineData(1, 1 << 20, 64, 4096, false, 2, "activations")]     // B n = 2^32
    [InlineData(1 << 12, 512, 512, 1024, true, 1, "activations")]   // many instances: k B n = 2^31
    public void A_buffer_beyond_2_31_elements_is_refused_naming_the_buffer_and_the_limit(int k, int n, int m, int batch, bool tied, int slots, string buffer)
    {
        long perInstance = (long)m * n * (tied ? 1 : 2) + n;
        var e = Assert.Throws<ConfigException>(() => IndexLimits.Check(k, n, m, batch, perInstance, slots));
        Assert.Equal("n, m, batch, instances", e.Field);
        Assert.Contains(buffer, e.Value);
        Assert.Contains("2147483647 elements", e.Accepted);
        Assert.Contains("32-bit", e.Accepted);
    }

    [Fact]
    public void Buffers_of_up_to_2_31_minus_1_elements_are_accepted()
    {
        IndexLimits.Check(instances: 1, n: 1, m: 1, batch: 1, perInstance: int.MaxValue, stateSlots: 1);
        IndexLimits.Check(instances: 1, n: int.MaxValue, m: 1, batch: 1, perInstance: 3, stateSlots: 2);
    }

    [Fact]
    public void Every_run_the_engine_accepts_fits_the_GPU_indexes() =>
        Assert.True(AutoencoderConfig.MaxBufferElements <= IndexLimits.MaxElements,
            $"AutoencoderConfig accepts buffers of {AutoencoderConfig.MaxBufferElements} floats; the GPU kernels index at most {IndexLimits.MaxElements}");
}
