using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Data;

/// <summary>
/// Philox4x32-10 (<see cref="Philox"/>) on several counters at once, one counter per 64-bit lane, so
/// the 32 x 32 -> 64-bit products of a round are single vector multiplies (vpmuludq). Bit for bit
/// the scalar generator.
/// </summary>
internal static class PhiloxLanes
{
    /// <summary>
    /// Replaces (c0, c1, c2, c3) by philox((c0, c1, c2, c3), (k0, k1)) in every lane of two independent sets of
    /// counters, interleaved: a round is a chain of dependent multiplies, so two chains in flight keep the multiplier
    /// busy. Only the low 32 bits of each lane are meaningful, on input and output: the high halves may hold anything,
    /// because the multiplies read only the low halves and the caller reads only the low halves.
    /// </summary>
    /// <remarks>
    /// The keys are broadcast in each round: round keys broadcast once per sample and read from memory took a register
    /// more, and the JIT then kept all eight counters on the stack across the rounds (the generation phase 1.4x slower).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Generate2<TWords, TLanes>(ref TWords a0, ref TWords a1, ref TWords a2, ref TWords a3,
        ref TWords b0, ref TWords b1, ref TWords b2, ref TWords b3, uint k0, uint k1)
        where TWords : unmanaged where TLanes : IWordLanes<TWords>
    {
        TWords m0 = TLanes.Broadcast(Philox.M0), m1 = TLanes.Broadcast(Philox.M1);
        for (int round = 0; round < Philox.Rounds; round++)
        {
            if (round > 0)
            {
                k0 += Philox.W0;
                k1 += Philox.W1;
            }
            TWords key0 = TLanes.Broadcast(k0), key1 = TLanes.Broadcast(k1);
            TWords pa0 = TLanes.MultiplyLow32(m0, a0), pb0 = TLanes.MultiplyLow32(m0, b0);
            TWords pa1 = TLanes.MultiplyLow32(m1, a2), pb1 = TLanes.MultiplyLow32(m1, b2);
            a0 = TLanes.Xor(TLanes.Xor(TLanes.ShiftRight32(pa1), a1), key0);
            b0 = TLanes.Xor(TLanes.Xor(TLanes.ShiftRight32(pb1), b1), key0);
            a2 = TLanes.Xor(TLanes.Xor(TLanes.ShiftRight32(pa0), a3), key1);
            b2 = TLanes.Xor(TLanes.Xor(TLanes.ShiftRight32(pb0), b3), key1);
            a1 = pa1;
            b1 = pb1;
            a3 = pa0;
            b3 = pb0;
        }
    }
}
