using System.Runtime.Intrinsics.X86;

namespace ToyModels.Backends.Simd.Lanes;

/// <summary>The vector width the SIMD backend runs at; the value is the number of float lanes.</summary>
internal enum InstructionSet
{
    /// <summary>One lane: no FMA or no hardware intrinsics. Still bit-identical (MathF.FusedMultiplyAdd is exact everywhere).</summary>
    Scalar = 1,
    /// <summary>Vector128 with FMA.</summary>
    Sse = 4,
    /// <summary>Vector256: AVX2 with FMA.</summary>
    Avx2 = 8,
    /// <summary>Vector512: AVX-512F with FMA.</summary>
    Avx512 = 16,
}

internal static class InstructionSets
{
    /// <summary>
    /// The widest set this process may use. The vector paths need FMA (numerics.md rule 3: the fused
    /// multiply-add must be exact and fast); without it the scalar path runs, with the same bits.
    /// </summary>
    /// <remarks>
    /// AVX-512 is chosen by <see cref="Avx512F.IsSupported"/>, not Vector512.IsHardwareAccelerated: on
    /// CPUs whose 512-bit units lower the clock (Skylake-X, Cascade Lake) .NET reports the latter as false
    /// to steer general code to 256 bits, yet the instructions run and dense products gain from them.
    /// DOTNET_EnableAVX512=0, DOTNET_EnableAVX2=0 and DOTNET_EnableHWIntrinsic=0 lower the choice.
    /// </remarks>
    public static InstructionSet Best
    {
        get
        {
            if (!Fma.IsSupported) return InstructionSet.Scalar;
            if (Avx512F.IsSupported) return InstructionSet.Avx512;
            if (Avx2.IsSupported) return InstructionSet.Avx2;
            return Sse42.IsSupported ? InstructionSet.Sse : InstructionSet.Scalar;
        }
    }

    public static string Name(InstructionSet set) => set switch
    {
        InstructionSet.Avx512 => "AVX-512 + FMA",
        InstructionSet.Avx2 => "AVX2 + FMA",
        InstructionSet.Sse => "SSE4.2 + FMA",
        _ => "scalar",
    };

    /// <summary>Parses avx512, avx2, sse or scalar.</summary>
    public static InstructionSet Parse(string text) => text switch
    {
        "avx512" => InstructionSet.Avx512,
        "avx2" => InstructionSet.Avx2,
        "sse" => InstructionSet.Sse,
        "scalar" => InstructionSet.Scalar,
        _ => throw new Model.ConfigException("instruction set", text, "avx512, avx2, sse or scalar"),
    };
}
