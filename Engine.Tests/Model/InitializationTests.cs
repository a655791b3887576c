using ToyModels.Data;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Model;

public class InitializationTests
{
    [Theory]
    [InlineData(false, true, InitKind.Uniform)]
    [InlineData(true, true, InitKind.XavierNormal)]
    [InlineData(false, false, InitKind.XavierNormal)]
    public void Pieces_of_any_size_give_the_bits_of_the_whole(bool tied, bool bias, InitKind init)
    {
        var config = ParityCases.Make(23, 7, 4, tied, bias, 0.1, Importance.Uniform, 3, init: init);
        var whole = Initialization.Create(config);
        var random = new Random(3);
        var pieces = new float[whole.Length];
        for (int start = 0; start < pieces.Length;)
        {
            int length = Math.Min(pieces.Length - start, 1 + random.Next(200));
            Initialization.Fill(config, start, pieces.AsSpan(start, length));
            start += length;
        }
        Bits.Equal(whole, pieces, "initialised in pieces");
    }

    /// <summary>
    /// Past 2^32 elements of one tensor the element's high word goes to Philox's third counter word (0 below), so a
    /// tensor of any size draws distinct values; shown on a layout far too large to allocate, read in a piece.
    /// </summary>
    [Fact]
    public void Elements_past_2_32_of_a_tensor_draw_with_their_high_word()
    {
        var config = AutoencoderConfig.Create(1 << 17, 1 << 16, 0.01, 1e-3, tied: true, bias: false, seed: 9); // W: 2^33 elements
        long start = (1L << 32) - 2;
        var piece = new float[4];
        Initialization.Fill(config, start, piece);
        var (k0, k1) = Philox.Key(9);
        double bound = 1.0 / Math.Sqrt(1 << 17);
        for (int c = 0; c < 4; c++)
        {
            long e = start + c;
            var w = Philox.Generate((uint)e, 0, (uint)(e >> 32), Initialization.InitStream, k0, k1);
            double u = ((((ulong)w.X0 << 32) | w.X1) >> 11) * (1.0 / 9007199254740992.0);
            Assert.Equal((float)(bound * (2 * u - 1)), piece[c]);
        }
        var first = new float[1];
        Initialization.Fill(config, 0, first);
        Assert.NotEqual(first[0], piece[2]); // element 2^32 is not element 0 again
    }
}
