using ILGPU;

namespace ToyModels.Gpu.Kernels;

/// <summary>
/// Where the nonzero lists of a [instances][batch][width] buffer go: per row, the ascending indices i
/// with v[r][i] != 0; per column, the ascending rows r. Lines are rows or columns.
/// </summary>
internal struct NonzeroListArguments : IInstanceArguments
{
    public int FirstInstance { get; set; }
    /// <summary>[instances][batch][width].</summary>
    public ArrayView<float> Values;
    /// <summary>[instances][lines][chunks]: nonzeros per chunk of each line (written by Count, read by Write).</summary>
    public ArrayView<int> ChunkCounts;
    /// <summary>The list of each line: [instances][batch][width] by rows, [instances][width][batch] by columns.</summary>
    public ArrayView<int> Index;
    /// <summary>The length of each list: [instances][batch] by rows, [instances][width] by columns.</summary>
    public ArrayView<int> Count;
    public int Width, Batch;
    /// <summary>Rows in use (the batch, or an evaluation's count).</summary>
    public int Rows;
    /// <summary>1: a list per column (over rows); 0: a list per row (over columns).</summary>
    public int Columns;
    /// <summary>Entries per chunk (one work-item's share of a line).</summary>
    public int Chunk;
}

/// <summary>
/// Nonzero lists, built with an exact integer scan in two barrier-free launches: <see cref="Count"/>
/// counts each chunk of each line, then <see cref="Write"/> starts each chunk at the sum of the counts
/// before it (a serial prefix over at most width / chunk integers) and writes its indices in order,
/// so every list is ascending without sorting. NaN counts as nonzero and -0 as zero, as in the
/// reference (v != 0), by testing the bits without the sign.
/// </summary>
internal static class NonzeroListKernels
{
    /// <summary>Lines x chunks work-items per instance: chunk-major for row lists, line-major for column lists (consecutive columns are consecutive addresses).</summary>
    public static void Count(NonzeroListArguments a)
    {
        if (!Locate(a, out int s, out int line, out int chunk, out int lines, out int chunks)) return;
        int length = a.Columns != 0 ? a.Rows : a.Width;
        int begin = chunk * a.Chunk, end = XMin(begin + a.Chunk, length);
        int found = 0;
        for (int e = begin; e < end; e++)
            if (IsNonzero(a.Values[At(a, s, line, e)])) found++;
        a.ChunkCounts[(s * lines + line) * chunks + chunk] = found;
    }

    public static void Write(NonzeroListArguments a)
    {
        if (!Locate(a, out int s, out int line, out int chunk, out int lines, out int chunks)) return;
        int length = a.Columns != 0 ? a.Rows : a.Width;
        int countsAt = (s * lines + line) * chunks;
        int at = 0;
        for (int c = 0; c < chunk; c++) at += a.ChunkCounts[countsAt + c];
        // Lists are laid out over the whole batch ([k][batch][n] by rows, [k][n][batch] by columns) whatever Rows is.
        int list = a.Columns != 0 ? s * a.Width + line : s * a.Batch + line;
        int listAt = list * (a.Columns != 0 ? a.Batch : a.Width);
        int begin = chunk * a.Chunk, end = XMin(begin + a.Chunk, length);
        for (int e = begin; e < end; e++)
            if (IsNonzero(a.Values[At(a, s, line, e)])) a.Index[listAt + at++] = e;
        if (chunk == chunks - 1) a.Count[list] = at;
    }

    /// <summary>Chunks per line.</summary>
    public static int Chunks(int length, int chunk) => Math.Max(1, (length + chunk - 1) / chunk);

    private static bool Locate(NonzeroListArguments a, out int s, out int line, out int chunk, out int lines, out int chunks)
    {
        s = a.FirstInstance + Grid.IdxY;
        lines = a.Columns != 0 ? a.Width : a.Rows;
        chunks = (XMax(1, a.Columns != 0 ? a.Rows : a.Width) + a.Chunk - 1) / a.Chunk;
        bool inside = WorkItem.Index(lines * chunks, out int g);
        if (a.Columns != 0) { line = g % lines; chunk = g / lines; }
        else { line = g / chunks; chunk = g % chunks; }
        return inside;
    }

    /// <summary>Element e of a line: v[r = line][i = e] or v[r = e][i = line].</summary>
    private static int At(NonzeroListArguments a, int s, int line, int e) =>
        a.Columns != 0 ? (s * a.Batch + e) * a.Width + line : (s * a.Batch + line) * a.Width + e;

    private static bool IsNonzero(float v) => (Interop.FloatAsInt(v) & 0x7FFFFFFF) != 0;

    private static int XMin(int a, int b) => a < b ? a : b;
    private static int XMax(int a, int b) => a > b ? a : b;
}
