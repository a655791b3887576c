using FsCheck;
using FsCheck.Fluent;
using ToyModels.Backends.Simd.Phases;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// ExactDense.SkipsAreExact, the predicate that lets g_h and gW_out run as dense products: wherever it says yes, the
/// chain that keeps the g = 0 terms gives the bits of the reference's chain that skips them. Chains are drawn near
/// the predicate's threshold (products around 2^-103, pairs of terms that nearly cancel), where the two can part.
/// </summary>
public sealed class ExactDensePropertyTests
{
    /// <summary>One term of a serial-k chain fma(a, g, acc): a finite (a parameter or an activation), g anything.</summary>
    public readonly record struct Term(float A, float G);

    /// <summary>Exponents of a in [-70, 20], and g's chosen so that their sum mostly lands just above the threshold, sometimes far below.</summary>
    private static Gen<Term[]> Chains()
    {
        var term =
            from ea in Gen.Choose(-70, 20)
            from offset in Gen.Frequency((6, Gen.Choose(-2, 12)), (1, Gen.Choose(-60, 30)))
            from a in Properties.AnyExponent(ea, ea)
            from g in Gen.Frequency(
                (3, Gen.Elements(0f, -0f)),
                (6, Properties.AnyExponent(Math.Clamp(Threshold - ea + offset, -126, 127), Math.Clamp(Threshold - ea + offset, -126, 127))),
                (1, Properties.Subnormal()))
            select new Term(a, g);
        return from terms in Gen.ArrayOf(term).Resize(16)
               from cancel in Gen.ArrayOf(Gen.Choose(-3, 3), terms.Length)
               select Cancelling(terms, cancel);
    }

    /// <summary>The sum of exponents from which the predicate holds (its proof: -149 + 46).</summary>
    private const int Threshold = -103;

    /// <summary>Where cancel[k] != 0, term k repeats the previous nonzero term negated with a nudged by that many ulps: sums then cancel to tiny residues.</summary>
    private static Term[] Cancelling(Term[] terms, int[] cancel)
    {
        for (int k = 1; k < terms.Length; k++)
            if (cancel[k] != 0 && terms[k - 1].G != 0)
            {
                int bits = BitConverter.SingleToInt32Bits(-terms[k - 1].A) + cancel[k];
                terms[k] = new Term(BitConverter.Int32BitsToSingle(bits), terms[k - 1].G);
            }
        return terms;
    }

    private static float Chain(Term[] terms, bool keepZeros)
    {
        float acc = 0f;
        foreach (var t in terms)
            if (keepZeros || t.G != 0f) acc = MathF.FusedMultiplyAdd(t.A, t.G, acc);
        return acc;
    }

    /// <summary>The smallest nonzero magnitude, +infinity when there is none (as the kernels report it).</summary>
    private static float Smallest(IEnumerable<float> values) =>
        values.Where(v => v != 0f).Select(MathF.Abs).DefaultIfEmpty(float.PositiveInfinity).Min();

    [Fact]
    public void Where_the_predicate_holds_keeping_the_zero_terms_changes_no_bit()
    {
        int held = 0, parted = 0;
        Properties.Check(Prop.ForAll(Chains().ToArbitrary(), terms =>
        {
            float skipping = Chain(terms, keepZeros: false), keeping = Chain(terms, keepZeros: true);
            bool exact = ExactDense.SkipsAreExact(Smallest(terms.Select(t => t.A)), Smallest(terms.Select(t => t.G)));
            bool same = Bits.Same(skipping, keeping);
            if (exact) held++;
            if (!same) parted++;
            // Where they part, only the sign of a zero differs: the reference's -0 against the kept term's +0.
            return (!exact || same) && (same || (skipping == 0f && keeping == 0f));
        }), cases: 1500, seed: 13);
        Assert.True(held > 300, $"only {held} of the chains were ones the predicate accepts");
        Assert.True(parted > 0, "no chain below the threshold told the dense chain from the reference's: the draw misses the corner the predicate guards");
    }

    /// <summary>
    /// The threshold is tight. With every exponent pair summing to S, the chain (1 + 2^-22) 2^S, then
    /// -(1 + 2^-22 + 2^-46) 2^S in one fma, leaves the exact residue -2^(S - 46): from S = Threshold - 1 down it
    /// rounds to -0, which a kept zero term (a = 1) turns into +0; from the threshold up it is a float and nothing
    /// parts. So the chains part exactly where the predicate says no.
    /// </summary>
    [Fact]
    public void The_chains_part_exactly_where_the_predicate_says_no()
    {
        var shapes =
            from sum in Gen.Choose(Threshold - 12, Threshold + 12)
            from ea in Gen.Choose(-126, sum + 126)
            select (sum, ea);
        Properties.Check(Prop.ForAll(shapes.ToArbitrary(), shape =>
        {
            var (sum, ea) = shape;
            int eg = sum - ea;
            float wide = 1f + MathF.ScaleB(1f, -23);
            Term[] terms =
            [
                new(MathF.ScaleB(1f + MathF.ScaleB(1f, -22), ea), MathF.ScaleB(1f, eg)),
                new(-MathF.ScaleB(wide, ea), MathF.ScaleB(wide, eg)),
                new(MathF.ScaleB(1f, ea), 0f),
            ];
            float skipping = Chain(terms, keepZeros: false), keeping = Chain(terms, keepZeros: true);
            bool parted = !Bits.Same(skipping, keeping);
            bool exact = ExactDense.SkipsAreExact(Smallest(terms.Select(t => t.A)), Smallest(terms.Select(t => t.G)));
            return parted == !exact && parted == (sum < Threshold);
        }), cases: 300, seed: 31);
    }

    /// <summary>
    /// The predicate is the exponent sum against the threshold, with a subnormal counting as 2^-126 (its spacing) and
    /// no nonzero value (+infinity) always exact; so it is symmetric and a larger magnitude never turns yes into no.
    /// </summary>
    [Fact]
    public void The_predicate_compares_the_exponent_sum_with_the_threshold()
    {
        var magnitude = Gen.Frequency(
            (6, Properties.AnyExponent(-126, 127).Select(MathF.Abs)),
            (2, Properties.Subnormal().Select(MathF.Abs)),
            (1, Gen.Constant(float.PositiveInfinity)));
        Properties.Check(Prop.ForAll(Gen.Four(magnitude).ToArbitrary(), q =>
        {
            var (a, g, a2, g2) = q;
            static int Exponent(float v) => Math.Max(Math.ILogB(v), -126);
            bool expected = float.IsPositiveInfinity(a) || float.IsPositiveInfinity(g) || Exponent(a) + Exponent(g) >= Threshold;
            bool holds = ExactDense.SkipsAreExact(a, g);
            bool monotone = !holds || ExactDense.SkipsAreExact(MathF.Max(a, a2), MathF.Max(g, g2));
            return holds == expected && holds == ExactDense.SkipsAreExact(g, a) && monotone;
        }), cases: 2000, seed: 29);
    }
}
