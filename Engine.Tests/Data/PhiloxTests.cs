using ToyModels.Data;

namespace ToyModels.Tests.Data;

public class PhiloxTests
{
    // The known-answer vectors of numerics.md rule 11 (Random123's kat_vectors for philox4x32-10).
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x0, uint x1, uint x2, uint x3)
    {
        Assert.Equal(new Philox.Block(x0, x1, x2, x3), Philox.Generate(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void Key_splits_the_seed_low_word_first()
    {
        Assert.Equal((0x89abcdefu, 0x01234567u), Philox.Key(0x0123456789abcdefUL));
    }
}
