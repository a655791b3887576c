using System.Runtime.CompilerServices;

namespace ToyModels.Data;

/// <summary>
/// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw,
/// "Parallel Random Numbers: As Easy as 1, 2, 3" (SC 2011), as fixed by numerics.md rule 11.
/// </summary>
/// <remarks>
/// One round, with (hi, lo) the 64-bit products: (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2;
/// new counter = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0). The first round uses the key as given;
/// before each later round k0 += W0 and k1 += W1 (mod 2^32).
/// </remarks>
internal static class Philox
{
    public const uint M0 = 0xD2511F53;
    public const uint M1 = 0xCD9E8D57;
    public const uint W0 = 0x9E3779B9;
    public const uint W1 = 0xBB67AE85;
    public const int Rounds = 10;

    /// <summary>Four 32-bit output words for one counter and key.</summary>
    public readonly record struct Block(uint X0, uint X1, uint X2, uint X3)
    {
        public uint this[int k] => k switch { 0 => X0, 1 => X1, 2 => X2, 3 => X3, _ => throw new ArgumentOutOfRangeException(nameof(k)) };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block Generate(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < Rounds; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
            uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
        }
        return new Block(c0, c1, c2, c3);
    }

    /// <summary>The key of a 64-bit seed: (S mod 2^32, S >> 32).</summary>
    public static (uint K0, uint K1) Key(ulong seed) => ((uint)seed, (uint)(seed >> 32));
}
