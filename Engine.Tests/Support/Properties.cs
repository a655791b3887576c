using FsCheck;
using FsCheck.Fluent;

namespace ToyModels.Tests.Support;

/// <summary>
/// FsCheck properties run from a fixed seed, so every run draws the same cases and a failure replays as it is
/// (FsCheck's message carries the seed and the shrunk counterexample).
/// </summary>
public static class Properties
{
    public static void Check(Property property, int cases, ulong seed) =>
        property.Check(Config.QuickThrowOnFailure.WithMaxTest(cases).WithReplay(seed, 0x9E3779B97F4A7C15UL).WithQuietOnSuccess(true));

    /// <summary>
    /// Floats as the kernels meet them: mostly zero (+0 and -0), NaN, infinities, subnormals, and normal values
    /// of every exponent from the smallest to large ones.
    /// </summary>
    public static Gen<float> SparseFloats { get; } = Gen.Frequency(
        (6, Gen.Elements(0f, -0f)),
        (1, Gen.Elements(float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, -1e-30f)),
        (2, Subnormal()),
        (4, AnyExponent(-126, 40)));

    /// <summary>A random nonzero subnormal of either sign.</summary>
    public static Gen<float> Subnormal() =>
        from bits in Gen.Choose(1, (1 << 23) - 1)
        from negative in Gen.Elements(false, true)
        select BitConverter.Int32BitsToSingle(bits | (negative ? int.MinValue : 0));

    /// <summary>A normal float of either sign with a random mantissa and an exponent in [lowest, highest].</summary>
    public static Gen<float> AnyExponent(int lowest, int highest) =>
        from exponent in Gen.Choose(lowest, highest)
        from mantissa in Gen.Choose(0, (1 << 23) - 1)
        from negative in Gen.Elements(false, true)
        select BitConverter.Int32BitsToSingle((negative ? int.MinValue : 0) | ((exponent + 127) << 23) | mantissa);
}
