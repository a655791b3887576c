using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;

namespace ToyModels.Tests.Model;

public class ConfigTests
{
    public static IEnumerable<object[]> BadValues =>
    [
        ["AutoencoderConfig.N", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(0, 4, 0.1, 1e-3))],
        ["AutoencoderConfig.M", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, -1, 0.1, 1e-3))],
        ["InstanceSettings.P", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 1.5, 1e-3))],
        ["InstanceSettings.P", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, -0.1, 1e-3))],
        ["InstanceSettings.P", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, double.NaN, 1e-3))],
        ["InstanceSettings.LearningRate", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 0))],
        ["InstanceSettings.LearningRate", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, double.PositiveInfinity))],
        ["InstanceSettings.LearningRate", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, double.NaN))],
        ["AutoencoderConfig.Batch", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 1e-3, batch: 0))],
        ["AutoencoderConfig.Instances", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 1e-3, instances: 0))],
        ["OptimizerSettings.Eps", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 1e-3, optimizer: new OptimizerSettings { Eps = 0 }))],
        ["OptimizerSettings.Beta1", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 1e-3, optimizer: new OptimizerSettings { Beta1 = 1 }))],
        ["OptimizerSettings.WeightDecay", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 1e-3, optimizer: new OptimizerSettings { WeightDecay = -1 }))],
        ["OptimizerSettings.Momentum", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 1e-3, optimizer: new OptimizerSettings { Momentum = 0.5 }))],
        ["InstanceSettings.Importance", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(4, 2, 0.1, 1e-3, importance: Importance.Decay(1.5)))],
        ["AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Batch, AutoencoderConfig.Instances", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(1 << 30, 1 << 30, 0.1, 1e-3))],
        ["AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Batch, AutoencoderConfig.Instances", (Func<AutoencoderConfig>)(() => AutoencoderConfig.Create(1 << 30, 2, 0.1, 1e-3, batch: 1 << 30))],
    ];

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Bad_values_name_the_field_the_value_and_the_range(string field, Func<AutoencoderConfig> make)
    {
        var error = Assert.Throws<ConfigException>(make);
        Assert.Equal(field, error.Field);
        Assert.False(string.IsNullOrEmpty(error.Value));
        Assert.False(string.IsNullOrEmpty(error.Accepted));
        Assert.Equal($"{error.Field} = {error.Value} is invalid; accepted: {error.Accepted}", error.Message);
        // The engine speaks of its own settings, never of a program's command line.
        Assert.DoesNotContain("--", error.Message);
    }

    [Fact]
    public void Sizes_past_what_the_engine_counts_are_rejected_before_allocating()
    {
        // Beyond 2^60 bytes of training state no size is a valid run anywhere; below, whether a run fits is the
        // backend factory's memory check (MemoryTests).
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ConfigException>(() => AutoencoderConfig.Create(int.MaxValue, int.MaxValue, 0.1, 1e-3));
        Assert.Equal("AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Batch, AutoencoderConfig.Instances", error.Field);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "validation allocated the buffers");
    }

    [Fact]
    public void A_layout_of_more_than_2_31_floats_is_counted_in_64_bits()
    {
        // Untied n 65536, m 8192: 2^30 + 65536 parameters, and 2^31 + 2^17 floats of Adam state, more than a span holds.
        var config = AutoencoderConfig.Create(65536, 8192, 0.001, 1e-5, batch: 256);
        Assert.Equal((1L << 30) + 65536, config.Layout.Total);
        Assert.Equal(2 * ((1L << 30) + 65536), config.OptimizerStateLength());
        Assert.Equal(1L << 29, config.Layout.Decoder.Offset);
        Assert.Equal(1L << 30, config.Layout.BiasVector.Offset);
        var packed = AutoencoderConfig.Create(65536, 8192, 0.001, 1e-5, batch: 256, instances: 3);
        Assert.Equal(3 * ((1L << 30) + 65536), packed.Layout.Total);
    }

    [Fact]
    public void Packed_instances_name_the_instance_that_is_wrong()
    {
        var error = Assert.Throws<ConfigException>(() => new AutoencoderConfig(4, 2, false, true, 8,
            [new InstanceSettings(0, 0.1, 1e-3, Importance.Uniform), new InstanceSettings(1, 2, 1e-3, Importance.Uniform)]));
        Assert.Equal("AutoencoderConfig.Instances[1].P", error.Field);
        Assert.Equal("2", error.Value);
        Assert.Equal("a number in [0, 1]", error.Accepted);
    }

    [Theory]
    [InlineData("uniform")]
    [InlineData("decay:0.9")]
    [InlineData("power:1.5")]
    public void Importance_round_trips_through_text(string text) => Assert.Equal(text, Importance.Parse(text).ToString());

    [Theory]
    [InlineData("decay")]
    [InlineData("decay:x")]
    [InlineData("decay:0")]
    [InlineData("power:-1")]
    [InlineData("zipf:1")]
    public void Bad_importance_is_rejected(string text) => Assert.Equal("InstanceSettings.Importance", Assert.Throws<ConfigException>(() => Importance.Parse(text)).Field);

    [Fact]
    public void Importance_values()
    {
        Assert.Equal([1f, 0.9f, (float)0.81, (float)(0.9 * 0.9 * 0.9)], Importance.Decay(0.9).Compute(4));
        Assert.Equal([1f, (float)Math.Pow(2, -0.75), (float)Math.Pow(3, -0.75)], Importance.Power(1.5).Compute(3));
    }

    [Fact]
    public void Config_json_round_trips_exactly()
    {
        var config = new AutoencoderConfig(7, 3, true, false, 5,
            [new InstanceSettings(ulong.MaxValue, 0.1 + 0.2, 1 / 3.0, Importance.Power(0.7)), new InstanceSettings(2, 1e-300, 3e-3 / Math.Sqrt(512), Importance.Decay(0.99))],
            new OptimizerSettings { Kind = OptimizerKind.AdamW, Eps = 1e-7, WeightDecay = 0.01 }, InitKind.XavierNormal);
        string json = ConfigJson.Write(config);
        Assert.Equal(json, ConfigJson.Write(ConfigJson.Parse(json)));
        var back = ConfigJson.Parse(json);
        Assert.Equal(config.Instances, back.Instances);
        Assert.Equal(config.Optimizer, back.Optimizer);
    }

    [Fact]
    public void Layout_is_instance_major_with_named_views()
    {
        var config = AutoencoderConfig.Create(5, 3, 0.1, 1e-3, instances: 2);
        var layout = config.Layout;
        Assert.Equal(15 + 15 + 5, layout.PerInstance);
        Assert.Equal(70, layout.Total);
        Assert.Equal((0, 15), (layout.Encoder.Offset, layout.Encoder.Length));
        Assert.Equal((15, 15), (layout.Decoder.Offset, layout.Decoder.Length));
        Assert.Equal((30, 5), (layout.BiasVector.Offset, layout.BiasVector.Length));
        var tied = AutoencoderConfig.Create(5, 3, 0.1, 1e-3, tied: true, bias: false).Layout;
        Assert.Equal(["W"], tied.Tensors.Select(t => t.Name));
        Assert.Equal(15, tied.PerInstance);
    }
}
