using System.Runtime.CompilerServices;

namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// x of an instance's training batch as columns, for gW_in: per feature, its nonzero (sample, value) in ascending
/// sample order. A counting sort cut by panels so that every part runs in parallel: each panel counts its entries
/// per feature as it is generated (<see cref="Count"/>), the counts become where each panel's entries go
/// (<see cref="Offsets"/>, per instance), and each panel writes its own entries there (<see cref="Scatter"/>).
/// Panel p's entries of a feature follow those of panels 0 .. p - 1, so the columns are those of one serial sort.
/// </summary>
internal static unsafe class InputColumns
{
    /// <summary>Panel p's entries per feature, from its sparse rows (the panel's samples that exist).</summary>
    public static void Count(Workspace w, int s, int p)
    {
        int* counts = w.XPanelStartOf(s, p);
        new Span<int>(counts, w.N).Clear();
        int b0 = p * Workspace.Tile, b1 = Math.Min(b0 + Workspace.Tile, w.Batch);
        int* rowCounts = w.XCountOf(s);
        for (int b = b0; b < b1; b++)
        {
            SparseEntry* row = w.XRows + w.SparseRow(s, b);
            for (int e = 0, count = rowCounts[b]; e < count; e++) counts[row[e].Index]++;
        }
    }

    /// <summary>
    /// The column starts (n + 1) from every panel's counts, and each panel's counts turned into where its first entry
    /// of each feature goes.
    /// </summary>
    public static void Offsets(Workspace w, int s)
    {
        int n = w.N, panels = w.Panels;
        int* start = w.XColumnStartOf(s);
        int* first = w.XPanelStartOf(s, 0);
        int next = 0;
        for (int i = 0; i < n; i++)
        {
            start[i] = next;
            for (int p = 0; p < panels; p++)
            {
                int count = first[(nint)p * n + i];
                first[(nint)p * n + i] = next;
                next += count;
            }
        }
        start[n] = next;
    }

    /// <summary>Panel p's entries into the columns, at the places <see cref="Offsets"/> gave (moving them on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scatter(Workspace w, int s, int p)
    {
        int* at = w.XPanelStartOf(s, p);
        SparseEntry* columns = w.XColumnsOf(s);
        int b0 = p * Workspace.Tile, b1 = Math.Min(b0 + Workspace.Tile, w.Batch);
        int* rowCounts = w.XCountOf(s);
        for (int b = b0; b < b1; b++)
        {
            SparseEntry* row = w.XRows + w.SparseRow(s, b);
            for (int e = 0, count = rowCounts[b]; e < count; e++)
            {
                SparseEntry* entry = columns + at[row[e].Index]++;
                entry->Index = b;
                entry->Value = row[e].Value;
            }
        }
    }

    /// <summary>Those of <paramref name="instances"/> whose columns are still to be written, into <paramref name="pending"/>.</summary>
    public static void Pending(StepState state, InstanceSet instances, InstanceSet pending)
    {
        pending.Clear();
        for (int i = 0; i < instances.Count; i++)
            if (!state.Records[instances[i]].ColumnsWritten) pending.Add(instances[i]);
    }

    /// <summary>Marks the columns of <paramref name="written"/> as holding their training batch: <see cref="Scatter"/> moved the places on, so it must not run again on this batch.</summary>
    public static void Written(StepState state, InstanceSet written)
    {
        for (int i = 0; i < written.Count; i++) state.Records[written[i]].ColumnsWritten = true;
    }
}
