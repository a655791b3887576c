using System.Runtime.InteropServices;

namespace ToyModels.Measure.Tools;

/// <summary>OpenBLAS's single-precision GEMM, the yardstick for the engine's dense product (row-major, no transposes).</summary>
internal static unsafe partial class OpenBlas
{
    private const string Library = "libopenblas.so.0";
    private const int RowMajor = 101, NoTrans = 111;

    /// <summary>Whether the library loads here, and why not.</summary>
    public static bool Available(out string why)
    {
        try
        {
            why = Marshal.PtrToStringAnsi(openblas_get_config()) ?? "OpenBLAS";
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            why = $"{Library} not found ({e.Message})";
            return false;
        }
    }

    public static int Threads
    {
        get => openblas_get_num_threads();
        set => openblas_set_num_threads(value);
    }

    /// <summary>C (rows x cols) = A (rows x inner) B (inner x cols), all row-major and dense.</summary>
    public static void Multiply(float* a, float* b, float* c, int rows, int cols, int inner) =>
        cblas_sgemm(RowMajor, NoTrans, NoTrans, rows, cols, inner, 1f, a, inner, b, cols, 0f, c, cols);

    [LibraryImport(Library)]
    private static partial void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Library)]
    private static partial void openblas_set_num_threads(int threads);

    [LibraryImport(Library)]
    private static partial int openblas_get_num_threads();

    [LibraryImport(Library)]
    private static partial nint openblas_get_config();
}
