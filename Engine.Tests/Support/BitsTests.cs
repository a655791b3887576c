namespace ToyModels.Tests.Support;

/// <summary>The suite's bitwise comparison keeps docs/numerics.md rule 15: any NaN is any NaN, every other value its bits.</summary>
public class BitsTests
{
    [Fact]
    public void Any_NaN_equals_any_NaN_and_every_other_value_only_its_own_bits()
    {
        float x86 = BitConverter.UInt32BitsToSingle(0xFFC00000), gpu = BitConverter.UInt32BitsToSingle(0x7FFFFFFF);
        Assert.True(Bits.Same(x86, gpu));
        Bits.Equal([1f, x86, -0f], [1f, gpu, -0f], "NaN payloads");

        Assert.False(Bits.Same(0f, -0f));
        Assert.False(Bits.Same(float.NaN, float.PositiveInfinity));
        Assert.False(Bits.Same(1f, BitConverter.UInt32BitsToSingle(0x3F800001)));
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Bits.Equal([1f, 0f], [1f, -0f], "zeros"));
    }
}
