using System.Runtime.CompilerServices;

namespace ToyModels.Backends.Simd.Phases;

/// <summary>x of an instance as columns, for gW_in: built by the first items of the g_h phase, whichever path it takes.</summary>
internal static unsafe class InputColumns
{
    /// <summary>Per feature, its nonzero (sample, value) in ascending sample order (a counting sort of the training batch's rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Build(Workspace w, int s)
    {
        int n = w.N, batch = w.Batch;
        int* start = w.XColumnStartOf(s);
        new Span<int>(start, n + 1).Clear();
        for (int b = 0; b < batch; b++)
        {
            SparseEntry* row = w.XRows + w.SparseRow(s, b);
            int count = w.XCountOf(s)[b];
            for (int e = 0; e < count; e++) start[row[e].Index + 1]++;
        }
        for (int i = 0; i < n; i++) start[i + 1] += start[i];
        SparseEntry* columns = w.XColumnsOf(s);
        for (int b = 0; b < batch; b++)
        {
            SparseEntry* row = w.XRows + w.SparseRow(s, b);
            int count = w.XCountOf(s)[b];
            for (int e = 0; e < count; e++)
            {
                SparseEntry* entry = columns + start[row[e].Index]++;
                entry->Index = b;
                entry->Value = row[e].Value;
            }
        }
        // The fill advanced each start to the next feature's; shift back.
        for (int i = n; i > 0; i--) start[i] = start[i - 1];
        start[0] = 0;
    }
}
