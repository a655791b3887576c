using System.Runtime.CompilerServices;
using ILGPU;

namespace ToyModels.Gpu.Kernels;

/// <summary>
/// Eight floats that live in registers: ILGPU lowers a struct passed by value to scalar registers,
/// while it keeps an indexed local array in memory (it does not unroll loops). The decoder's 8 x 8
/// register block is eight of these.
/// </summary>
internal struct Block8
{
    public const int Size = 8;

    public float V0, V1, V2, V3, V4, V5, V6, V7;

    /// <summary>tile[at], tile[at + stride], ..., tile[at + 7 stride].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block8 Gather(ArrayView<float> tile, int at, int stride) => new()
    {
        V0 = tile[at], V1 = tile[at + stride], V2 = tile[at + 2 * stride], V3 = tile[at + 3 * stride],
        V4 = tile[at + 4 * stride], V5 = tile[at + 5 * stride], V6 = tile[at + 6 * stride], V7 = tile[at + 7 * stride],
    };

    /// <summary>acc[u] = fma(w[u], h, acc[u]) for each u: one k-step of eight serial-k chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block8 Fma(Block8 w, float h, Block8 acc) => new()
    {
        V0 = Exact.Fma(w.V0, h, acc.V0), V1 = Exact.Fma(w.V1, h, acc.V1), V2 = Exact.Fma(w.V2, h, acc.V2), V3 = Exact.Fma(w.V3, h, acc.V3),
        V4 = Exact.Fma(w.V4, h, acc.V4), V5 = Exact.Fma(w.V5, h, acc.V5), V6 = Exact.Fma(w.V6, h, acc.V6), V7 = Exact.Fma(w.V7, h, acc.V7),
    };

    /// <summary>Element <paramref name="u"/> (0 .. 7) by selects, so the block stays in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Get(int u) =>
        u == 0 ? V0 : u == 1 ? V1 : u == 2 ? V2 : u == 3 ? V3 : u == 4 ? V4 : u == 5 ? V5 : u == 6 ? V6 : V7;
}
