using ToyModels.Gpu;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends.Gpu;

public class DeviceLayoutTests
{
    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void The_encoder_is_transposed_and_everything_else_kept(bool tied, bool bias)
    {
        int n = 5, m = 3;
        var config = ParityCases.Make(n, m, 2, tied, bias, 0.5, Importance.Uniform, 2);
        var layout = new DeviceLayout(config.Layout);
        var host = Enumerable.Range(0, 2 * (int)config.Layout.Total).Select(v => (float)v).ToArray(); // two copies: works on state slots too
        var device = new float[host.Length];
        layout.ToDevice(host, device);
        int block = (int)config.Layout.PerInstance;
        for (int start = 0; start < host.Length; start += block)
        {
            for (int j = 0; j < m; j++)
                for (int i = 0; i < n; i++)
                    Assert.Equal(host[start + j * n + i], device[start + i * m + j]);
            Assert.Equal(host.AsSpan(start + m * n, block - m * n).ToArray(), device.AsSpan(start + m * n, block - m * n).ToArray());
        }
        Assert.Equal(tied ? 0 : m * n, layout.DecoderOffset);
        var back = new float[host.Length];
        layout.ToHost(device, back);
        Assert.Equal(host, back);
    }

    [Fact]
    public void A_buffer_that_is_not_whole_blocks_is_refused()
    {
        var config = ParityCases.Make(5, 3, 2, false, true, 0.5, Importance.Uniform, 1);
        var layout = new DeviceLayout(config.Layout);
        Assert.Throws<ArgumentException>(() => layout.ToDevice(new float[config.Layout.Total + 1], new float[config.Layout.Total + 1]));
    }
}
