using ToyModels.Gpu;
using ToyModels.Model;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>The GPU kernels' 32-bit indexes: a run with a larger buffer is refused before anything is allocated.</summary>
public class IndexLimitsTests
{
    [Theory]
    [InlineData(1, 65536, 16384, 256, false, OptimizerKind.Sgd, "parameters")]        // 2 n m + n > 2^31 - 2^16
    [InlineData(1, 65536, 8192, 256, false, OptimizerKind.Adam, "optimizer state")]  // parameters fit, Adam's two slots do not
    [InlineData(1, 1 << 20, 64, 4096, false, OptimizerKind.Sgd, "x, z, g_z")]        // B n = 2^32
    [InlineData(1 << 12, 512, 512, 1024, true, OptimizerKind.Sgd, "x, z, g_z")]     // many instances: k B n = 2^31
    public void A_buffer_beyond_the_limit_is_refused_naming_the_buffer_and_the_limit(int k, int n, int m, int batch, bool tied, OptimizerKind optimizer, string buffer)
    {
        var config = AutoencoderConfig.Create(n, m, 0.01, 1e-3, tied: tied, batch: batch, instances: k, optimizer: new OptimizerSettings { Kind = optimizer });
        var e = Assert.Throws<ConfigException>(() => GpuBackend.CheckSizes(config, "cuda"));
        Assert.Equal("AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Batch, AutoencoderConfig.Instances", e.Field);
        Assert.Contains(buffer, e.Value);
        Assert.Contains($"at most {GpuBackend.MaxBufferElements} (2^31 - 2^16) elements per buffer on cuda", e.Accepted);
        Assert.Contains("32-bit", e.Accepted);
    }

    [Fact]
    public void Buffers_up_to_the_limit_are_accepted()
    {
        // B n just below the limit: n 2^15, batch 2^16 - 2 gives 2^31 - 2^16 elements of x exactly.
        GpuBackend.CheckSizes(AutoencoderConfig.Create(1 << 15, 8, 0.01, 1e-3, batch: (1 << 16) - 2), "cuda");
        var over = AutoencoderConfig.Create(1 << 15, 8, 0.01, 1e-3, batch: (1 << 16) - 1);
        Assert.Throws<ConfigException>(() => GpuBackend.CheckSizes(over, "cuda"));
    }
}
