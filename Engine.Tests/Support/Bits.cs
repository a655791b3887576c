namespace ToyModels.Tests.Support;

/// <summary>
/// Bitwise comparison of float buffers, with a failure message that points at the first difference.
/// Any NaN equals any NaN (docs/numerics.md rule 15: a NaN's sign and payload are not part of the
/// contract); every other value must have the same 32 bits (+0 and -0 differ).
/// </summary>
public static class Bits
{
    /// <summary>The bits of <paramref name="value"/>, every NaN as the one NaN weights_sha256 hashes.</summary>
    public static uint Canonical(float value) => float.IsNaN(value) ? ToyModels.IO.WeightsHash.CanonicalNaN : BitConverter.SingleToUInt32Bits(value);

    public static bool Same(float expected, float actual) => Canonical(expected) == Canonical(actual);

    public static void Equal(float expected, float actual, string what) =>
        Assert.True(Same(expected, actual), $"{what}: expected {expected:R} (0x{BitConverter.SingleToInt32Bits(expected):x8}), got {actual:R} (0x{BitConverter.SingleToInt32Bits(actual):x8})");

    public static void Equal(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        int first = -1, count = 0;
        for (int e = 0; e < expected.Length; e++)
        {
            if (Same(expected[e], actual[e])) continue;
            if (first < 0) first = e;
            count++;
        }
        if (first >= 0)
            Assert.Fail($"{what}: {count} of {expected.Length} floats differ; first at [{first}]: expected {expected[first]:R} " +
                $"(0x{BitConverter.SingleToInt32Bits(expected[first]):x8}), got {actual[first]:R} (0x{BitConverter.SingleToInt32Bits(actual[first]):x8})");
    }

    public static void Equal(ReadOnlySpan<long> expected, ReadOnlySpan<long> actual, string what) =>
        Assert.True(expected.SequenceEqual(actual), $"{what}: expected [{string.Join(", ", expected.ToArray())}], got [{string.Join(", ", actual.ToArray())}]");
}
