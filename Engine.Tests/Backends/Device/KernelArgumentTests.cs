using ToyModels.Backends.Device;

namespace ToyModels.Tests.Backends.Device;

public class KernelArgumentTests
{
    [Fact]
    public void Arguments_carry_the_bytes_a_runtime_passes()
    {
        KernelArgument f = 1.5f, u = 7u, i = 9, t = true;
        Assert.Equal((4, (ulong)BitConverter.SingleToUInt32Bits(1.5f)), (f.Size, f.Bits));
        Assert.Equal((4, 7ul), (u.Size, u.Bits));
        Assert.Equal((4, 9ul), (i.Size, i.Bits));
        Assert.Equal((4, 1ul), (t.Size, t.Bits));
        Assert.Throws<ArgumentOutOfRangeException>(() => { KernelArgument negative = -1; });
    }
}
