using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ToyModels.IO;

namespace ToyModels.Tests.IO;

public class WeightsHashTests
{
    [Fact]
    public void A_buffer_hashed_in_pieces_gives_the_hash_of_all_its_bytes()
    {
        // 2^26 + 3 floats: the hash appends in pieces of 2^26 floats (so buffers of 2^29 floats and more,
        // whose byte count overflows an int, hash too); the result must be the plain SHA-256 of the bytes.
        var values = new float[(1 << 26) + 3];
        for (int i = 0; i < values.Length; i += 4099) values[i] = i * 0.5f;
        values[^1] = -3.25f;

        string expected = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));

        Assert.Equal(expected, WeightsHash.Of(values));
    }
}
