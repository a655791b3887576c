using System.Runtime.CompilerServices;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// How many independent chains a lane kernel keeps in registers side by side (8, 4, 2 or 1). A kernel is
/// written once for 8 and the JIT drops the chains past <see cref="Count"/>. Eight chains hide the latency
/// of a fused multiply-add followed by a select (about 5 cycles) at two per cycle.
/// </summary>
internal interface IChains
{
    static abstract int Count { get; }
}

internal struct Chains8 : IChains { public static int Count => 8; }
internal struct Chains4 : IChains { public static int Count => 4; }
internal struct Chains2 : IChains { public static int Count => 2; }
internal struct Chains1 : IChains { public static int Count => 1; }

/// <summary>A choice a kernel makes when the JIT specialises it: <see cref="Yes"/> or <see cref="No"/>.</summary>
internal interface IFlag
{
    static abstract bool On { get; }
}

internal struct Yes : IFlag { public static bool On => true; }
internal struct No : IFlag { public static bool On => false; }

/// <summary>One term of a chain: acc and a factor shared by the kernel's chains and a factor of this chain.</summary>
internal interface ITerm
{
    static abstract TVec Next<TVec, TLanes>(TVec shared, TVec own, TVec acc) where TVec : unmanaged where TLanes : ILanes<TVec>;
}

/// <summary>fma(shared, own, acc), skipped in each lane where own is zero: the reference's x = 0 and g_z = 0 skips.</summary>
/// <remarks>
/// The compare and select cost twice the FMA (on AVX2 machines they take the same two pipes), and where both factors
/// are on the grid (<see cref="MagnitudeGrid"/>: zero, or finite and at least 2^-50 in magnitude) <see cref="EveryTerm"/>
/// gives the same bits. x always is: zero or a multiple of 2^-24, at least 2^-24. Proof: a nonzero exact product is a
/// multiple of 2^-146 and every float a multiple of 2^-149, so from acc = +0 an FMA's exact result is zero or at least
/// 2^-149 in magnitude, which never rounds to -0; an exact zero from parts not both -0 is +0 under round to nearest.
/// So acc is never -0, and for every acc but -0 (infinities and NaN included) acc + shared * (+-0) is acc itself,
/// shared being finite. A sum that has skipped terms may hold -0, so it adds every term again only from a fresh +0.
/// </remarks>
internal struct SkipZero : ITerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Next<TVec, TLanes>(TVec shared, TVec own, TVec acc) where TVec : unmanaged where TLanes : ILanes<TVec> =>
        TLanes.WhereNonZero(own, TLanes.Fma(shared, own, acc), acc);
}

/// <summary>fma(shared, own, acc), every term (the decoder).</summary>
internal struct EveryTerm : ITerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Next<TVec, TLanes>(TVec shared, TVec own, TVec acc) where TVec : unmanaged where TLanes : ILanes<TVec> =>
        TLanes.Fma(shared, own, acc);
}

/// <summary>acc + own (the bias gradient); the shared factor is not used.</summary>
internal struct Sum : ITerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Next<TVec, TLanes>(TVec shared, TVec own, TVec acc) where TVec : unmanaged where TLanes : ILanes<TVec> =>
        TLanes.Add(acc, own);
}
