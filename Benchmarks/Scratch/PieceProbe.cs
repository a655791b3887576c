using System.Diagnostics;
using System.Runtime.Intrinsics;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Kernels;
using ToyModels.Backends.Simd.Lanes;

namespace ToyModels.Benchmarks.Scratch;

// TEMPORARY: raw speed of RowPieces.Resume on cache-resident data.
internal static unsafe class PieceProbe
{
    public static void Run(string[] args)
    {
        int rowsN = int.Parse(args[1]), perList = int.Parse(args[2]), lists = 64, ldm = 528;
        float* rows = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(rowsN * ldm * 4), 64);
        float* output = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(lists * 64 * 9 * 4 + 4096), 64);
        var entries = (SparseEntry*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(lists * perList * 8), 64);
        var rng = new Random(1);
        for (int i = 0; i < rowsN * ldm; i++) rows[i] = (float)rng.NextDouble();
        for (int l = 0; l < lists; l++)
        {
            var idx = Enumerable.Range(0, rowsN).OrderBy(_ => rng.Next()).Take(perList).Order().ToArray();
            for (int e = 0; e < perList; e++) { entries[l * perList + e].Index = idx[e]; entries[l * perList + e].Value = 0.001f; }
        }
        double best = double.MaxValue;
        for (int rep = 0; rep < 200; rep++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int j = 0; j < 512; j += 64)
                for (int l = 0; l < lists; l++)
                    RowPieces.Resume<Vector256<float>, Vector256Lanes>(rows, ldm, 64, entries + l * perList, perList, j, output + l * 64, 64 * 64);
            best = Math.Min(best, (Stopwatch.GetTimestamp() - t0) * 1e9 / Stopwatch.Frequency);
        }
        double pieceEntries = 8.0 * lists * perList;
        Console.WriteLine($"rows {rowsN} perList {perList}: {best / pieceEntries:F3} ns per entry-piece (8 fma), {best / 1000:F1} us per pass");
    }
}
