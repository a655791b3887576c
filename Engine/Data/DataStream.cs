namespace ToyModels.Data;

/// <summary>
/// Data stream v1 (numerics.md rule 11): the sparse inputs x of every training step and of the
/// evaluation set, a pure function of (seed, p, step, sample). Every backend reproduces it bit for bit.
/// </summary>
/// <remarks>
/// For seed S, key = (S mod 2^32, S >> 32) and threshold T = floor(p * 2^32) (2^32 when p = 1).
/// Feature 4q+k of sample b at step t is active iff philox((q, b, t, mask), key)[k] &lt; T;
/// an active feature i has value (float)(philox((i, b, t, value), key)[0] >> 8) * 2^-24.
/// Training uses streams (mask, value) = (0, 1); evaluation uses (2, 3) with t = 0.
/// </remarks>
internal static class DataStream
{
    public const uint TrainMask = 0;
    public const uint TrainValue = 1;
    public const uint EvalMask = 2;
    public const uint EvalValue = 3;

    /// <summary>2^-24: scales a 24-bit integer into [0, 1) exactly.</summary>
    public const float ValueScale = 1.0f / 16777216.0f;

    /// <summary>T = floor(p * 2^32) in double, 2^32 for p = 1. Compare words as 64-bit unsigned.</summary>
    public static ulong Threshold(double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in [0, 1]");
        return p == 1 ? 1UL << 32 : (ulong)Math.Floor(p * 4294967296.0);
    }

    /// <summary>The value of an active feature from its Philox word: exactly representable, in [0, 1).</summary>
    public static float Value(uint word) => (float)(word >> 8) * ValueScale;

    /// <summary>Writes sample <paramref name="sample"/> of step <paramref name="step"/> into x (length n).</summary>
    /// <param name="seed">The instance's seed.</param>
    /// <param name="threshold">The activity threshold of p (<see cref="Threshold"/>).</param>
    /// <param name="step">The step (0 for evaluation).</param>
    /// <param name="sample">The sample within the step, or the evaluation row.</param>
    /// <param name="x">The sample's n features.</param>
    /// <param name="evaluation">true: the evaluation streams (2, 3); the caller passes step 0.</param>
    public static void Sample(ulong seed, ulong threshold, uint step, uint sample, Span<float> x, bool evaluation = false)
    {
        var (k0, k1) = Philox.Key(seed);
        uint maskStream = evaluation ? EvalMask : TrainMask;
        uint valueStream = evaluation ? EvalValue : TrainValue;
        int n = x.Length;
        for (int q = 0; 4 * q < n; q++)
        {
            Philox.Block words = Philox.Generate((uint)q, sample, step, maskStream, k0, k1);
            for (int k = 0; k < 4 && 4 * q + k < n; k++)
            {
                int i = 4 * q + k;
                if (words[k] < threshold)
                {
                    uint w = Philox.Generate((uint)i, sample, step, valueStream, k0, k1).X0;
                    x[i] = Value(w);
                }
                else
                {
                    x[i] = 0f;
                }
            }
        }
    }
}
