using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ToyModels.IO;

namespace ToyModels.Tests.IO;

public class WeightsHashTests
{
    [Fact]
    public void A_buffer_hashed_in_pieces_gives_the_hash_of_all_its_bytes()
    {
        // 2^26 + 3 floats: the hash appends in pieces (and a span of 2^29 floats or more has more bytes than
        // an int counts); the result must be the plain SHA-256 of the bytes.
        var values = new float[(1 << 26) + 3];
        for (int i = 0; i < values.Length; i += 4099) values[i] = i * 0.5f;
        values[^1] = -3.25f;

        string expected = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));

        Assert.Equal(expected, WeightsHash.Of(values));
    }

    /// <summary>docs/numerics.md rule 15: x86's NaN (0xFFC00000), a GPU's (0x7FFFFFFF) and any other hash alike.</summary>
    [Fact]
    public void Every_NaN_hashes_as_the_canonical_NaN_and_every_other_value_as_its_bits()
    {
        uint[] nans = [0xFFC00000, 0x7FFFFFFF, 0x7FC00000, 0x7F800001, 0xFFFFFFFF, 0x7FC12345];
        // 4096 + 37 floats: NaN at the start, on the edge between two pieces and in the ragged tail.
        int[] at = [0, 4095, 4096, 4100];
        string? hash = null;
        foreach (uint nan in nans)
        {
            var values = Values(4096 + 37);
            foreach (int e in at) values[e] = BitConverter.UInt32BitsToSingle(nan);
            string h = WeightsHash.Of(values);
            hash ??= h;
            Assert.Equal(hash, h);
        }

        var canonical = Values(4096 + 37);
        foreach (int e in at) canonical[e] = BitConverter.UInt32BitsToSingle(WeightsHash.CanonicalNaN);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(canonical.AsSpan()))), hash);

        // Not everything is canonicalised: -0 and +0, infinities, and the values next to NaN stay distinct.
        var positive = Values(40);
        var negative = Values(40);
        positive[7] = 0f;
        negative[7] = -0f;
        Assert.NotEqual(WeightsHash.Of(positive), WeightsHash.Of(negative));
        negative[7] = float.PositiveInfinity;
        positive[7] = float.NaN;
        Assert.NotEqual(WeightsHash.Of(positive), WeightsHash.Of(negative));
    }

    private static float[] Values(int count)
    {
        var values = new float[count];
        for (int e = 0; e < count; e++) values[e] = (e % 13 - 6) * 0.375f;
        return values;
    }
}
