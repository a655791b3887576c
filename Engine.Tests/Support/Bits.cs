namespace ToyModels.Tests.Support;

/// <summary>Bitwise comparison of float buffers, with a failure message that points at the first difference.</summary>
public static class Bits
{
    public static void Equal(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        int first = -1, count = 0;
        for (int e = 0; e < expected.Length; e++)
        {
            if (BitConverter.SingleToInt32Bits(expected[e]) == BitConverter.SingleToInt32Bits(actual[e])) continue;
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
