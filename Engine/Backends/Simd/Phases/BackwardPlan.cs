namespace ToyModels.Backends.Simd.Phases;

/// <summary>How g_h is computed for an instance.</summary>
internal enum HiddenGradient
{
    /// <summary>Together with the loss, panel by panel, sparse over g_z listed while in cache (g_z^T panels not written).</summary>
    Fused,
    /// <summary>After the loss, sparse over each sample's nonzero g_z read from the g_z^T panels.</summary>
    Sparse,
    /// <summary>After the loss, one dense product over every feature (where <see cref="ExactDense"/> proves it exact).</summary>
    Dense,
}

/// <summary>How the gradient phase gets gW_out: a dense product over the g_z^T panels, or per feature over its nonzero g_z, listed from the panels or from the fused walk's lists.</summary>
internal enum DecoderGradient { Dense, SparseFromPanels, SparseFromLists }

/// <summary>The paths an instance's backward pass takes: every combination gives the same bits, the plan only chooses how fast.</summary>
internal readonly record struct BackwardPaths(HiddenGradient Hidden, DecoderGradient Decoder)
{
    /// <summary>The fused walk leaves g_z only as lists, so gW_out runs sparse from them (exact at any density).</summary>
    public static readonly BackwardPaths Fused = new(HiddenGradient.Fused, DecoderGradient.SparseFromLists);
}

/// <summary>
/// The choice of the backward paths, per instance: a pure function of the densities and magnitudes the earlier
/// phases measured. Before the loss only the last step's g_z density is known, and it chooses whether the loss
/// and the sparse g_h walk run fused; after the loss this step's density and the smallest magnitudes choose the
/// dense or sparse products of the instances that did not fuse.
/// </summary>
internal static class BackwardPlan
{
    /// <summary>Whether the loss and the sparse g_h walk run fused, guessed from the last step's g_z density (1 before any step).</summary>
    public static bool Fuses(double lastDensity, double denseDensity) => lastDensity < denseDensity;

    /// <summary>The fraction of g_z that is nonzero.</summary>
    public static double Density(long nonzero, int n, int batch) => (double)nonzero / ((double)n * batch);

    /// <summary>
    /// The paths of an instance that did not fuse: g_h and gW_out run as dense products when g_z is at least
    /// <paramref name="denseDensity"/> dense and keeping its zero terms provably changes no bit (every factor
    /// finite and no product able to underflow to zero, <see cref="ExactDense"/>); otherwise sparse from the panels.
    /// </summary>
    /// <param name="density">This step's fraction of nonzero g_z (<see cref="Density"/>), 0 .. 1.</param>
    /// <param name="denseDensity">The threshold: at this density or above the dense products are considered (SimdBackend.DenseDensity, 0.6 by default).</param>
    /// <param name="gzSmallest">Smallest nonzero |g_z| of this step (+inf when g_z is all zero).</param>
    /// <param name="decoderSmallest">Smallest nonzero |W_out| (g_h's other factor), and whether W_out may hold a non-finite value.</param>
    /// <param name="decoderNonFinite">Whether W_out may hold a non-finite value: then g_h stays sparse (a kept 0 x inf would be NaN).</param>
    /// <param name="hSmallest">Smallest nonzero finite |h| (gW_out's other factor), and whether some h was not finite.</param>
    /// <param name="hNonFinite">Whether some h was not finite: then gW_out stays sparse.</param>
    public static BackwardPaths Unfused(double density, double denseDensity, float gzSmallest,
        float decoderSmallest, bool decoderNonFinite, float hSmallest, bool hNonFinite)
    {
        bool dense = density >= denseDensity;
        var hidden = dense && !decoderNonFinite && ExactDense.SkipsAreExact(decoderSmallest, gzSmallest) ? HiddenGradient.Dense : HiddenGradient.Sparse;
        var decoder = dense && !hNonFinite && ExactDense.SkipsAreExact(hSmallest, gzSmallest) ? DecoderGradient.Dense : DecoderGradient.SparseFromPanels;
        return new BackwardPaths(hidden, decoder);
    }

    /// <summary>
    /// Whether the sparse gW_out walk may leave out the samples with no active feature. Their h row is +0 (the encoder's
    /// chains take no entry), so each of their terms adds fma(+0, g_z, acc) = acc + (+-0): the same acc unless acc is -0,
    /// which needs a nonzero sum to underflow to zero (ruled out as for a dense product, <see cref="ExactDense"/>), or
    /// g_z is not finite (0 x inf is NaN; an empty sample's z is the bias, so every parameter must be finite).
    /// </summary>
    /// <param name="hSmallest">Smallest nonzero finite |h| of this step's Forward (+inf when h is all zero).</param>
    /// <param name="hNonFinite">Whether some h was not finite.</param>
    /// <param name="parametersNonFinite">Whether W_out or the bias may not be finite (InstanceRecord.DecoderNonFinite).</param>
    /// <param name="gzSmallest">Smallest nonzero |g_z| of this step (+inf when g_z is all zero).</param>
    public static bool SkipsEmptySamples(float hSmallest, bool hNonFinite, bool parametersNonFinite, float gzSmallest) =>
        !hNonFinite && !parametersNonFinite && ExactDense.SkipsAreExact(hSmallest, gzSmallest);
}

internal static class ExactDense
{
    /// <summary>
    /// Whether a serial-k chain of fma(a_k, g_k, acc) that skips the terms with g_k = 0 (the reference) gives
    /// the same bits as the chain that keeps them (a dense product), given every a_k is finite, the smallest
    /// nonzero |a_k| and the smallest nonzero |g_k|.
    /// </summary>
    /// <remarks>
    /// A kept term with g = 0 adds a * g = +-0 (a finite), which leaves acc unchanged unless acc is -0. acc starts
    /// at +0; an exact zero sum rounds to +0, so acc can become -0 only when a nonzero exact sum underflows to zero.
    /// Every float is a multiple of 2^(E - 23), E its exponent (-126 for subnormals), so a * g is a multiple of
    /// 2^(E_a + E_g - 46) and acc of 2^-149: when E_a + E_g - 46 &gt;= -149 every nonzero sum is at least 2^-149 in
    /// magnitude and never rounds to zero. The smallest magnitudes bound every pair's exponents.
    /// </remarks>
    public static bool SkipsAreExact(float smallestA, float smallestG) =>
        float.IsPositiveInfinity(smallestA) || float.IsPositiveInfinity(smallestG) || Exponent(smallestA) + Exponent(smallestG) >= -103;

    private static int Exponent(float magnitude)
    {
        int biased = (BitConverter.SingleToInt32Bits(magnitude) >> 23) & 0xFF;
        return biased == 0 ? -126 : biased - 127;
    }
}
