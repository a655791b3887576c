using System.Numerics;

namespace ToyModels.Analysis;

/// <summary>
/// The Sylvester Hadamard matrix H_n (n a power of two): H_1 = [1], H_2k = [[H_k, H_k], [H_k, -H_k]],
/// so H[r][i] = (-1)^popcount(r AND i). Its rows are orthogonal: H H^T = n I.
/// </summary>
internal static class Hadamard
{
    public static int Entry(int row, int column) => (BitOperations.PopCount((uint)(row & column)) & 1) == 0 ? 1 : -1;

    public static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;
}
