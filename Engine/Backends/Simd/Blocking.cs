namespace ToyModels.Backends.Simd;

/// <summary>
/// How the work of a step is cut into parallel items (always along independent outputs) and into blocks that
/// stay in cache. Measured on 2 Zen 3 cores (AVX2, 32 KiB L1d, 512 KiB L2 per core) at n 4096, m 512, B 1024.
/// </summary>
internal static class Blocking
{
    /// <summary>Features per item of the gradient/optimizer phase: a multiple of the 6-row tile and of 16.</summary>
    public const int Features = 48;

    /// <summary>
    /// Rows per item of the dense products (z^T, and g_h^T when g_z is dense). With <see cref="LaneGroup"/> panels
    /// of 64 samples an item's output block (96 x 1024 floats) stays in L2 while its k-blocks pass, and the packed
    /// A block of each k-block serves all 16 panels (256 x 4 was 2-3 ms slower per step: A was packed 4 times).
    /// </summary>
    public const int ProductRows = 96;

    /// <summary>Rows of the largest dense product an item runs (a block of z^T or g_h^T, or of gW_out): what a thread's packing space holds.</summary>
    public const int MostProductRows = ProductRows > Features ? ProductRows : Features;

    /// <summary>Panels of 64 samples per item of the dense products.</summary>
    public const int LaneGroup = 16;

    /// <summary>
    /// Features per block of the sparse g_h walk: the block's W_out rows under one 64-lane piece (24 KiB) stay in
    /// L1 while the panel's 64 samples pass (one block of all 4096 features: 44 ms against 22 for g_h).
    /// </summary>
    public const int HiddenFeatures = 96;

    /// <summary>
    /// Samples per block of the sparse gW_out walk: the block's h rows under one piece (32 KiB) stay in L1. At n 512,
    /// m 512, p 0.135 (g_z density 0.23) on 2 threads, each run interleaving step by step, the gradient phase took
    /// 4.90-4.92 ms a step against 5.25-5.27 with blocks of 64, 4.06-4.09 against 5.16 with 32 (more chains stored
    /// and resumed), 4.15-4.19 against 4.24-4.34 with 256 and 3.91-3.98 against 4.56-4.59 with 512 (blocks past L1).
    /// </summary>
    public const int GradientSamples = 128;

    /// <summary>
    /// Mean nonzero g_z per feature (over the batch) below which the sparse gW_out walk takes pieces of lanes
    /// outermost over the whole batch instead of blocks of <see cref="GradientSamples"/>: with a few entries per
    /// block, storing and resuming every chain between blocks cost more than reading h from L2 (n 512, m 256,
    /// p 0.026 late in training, 61 a feature: the gradient phase 2.44 to 2.08 ms a step on one thread).
    /// </summary>
    public const int WholeBatchEntries = 64;

    /// <summary>
    /// Mean entries per list, over all the lists of an item, from which the encoder (per sample) takes pieces of lanes
    /// outermost and gW_in (per feature) walks blocks of <see cref="GradientSamples"/> samples, rather than row after
    /// row: with many entries a piece of the rows stays in cache across the lists (n 512, m 512, p 0.5: encoder 8.1 to
    /// 6.5 ms a step); with few, whole rows read in turn are faster to fetch. gW_in's blocks, interleaved step by step
    /// with pieces of every row at n 512 on 2 threads, took the gradient phase at m 512 from 10.93 to 8.45 ms at p 0.5,
    /// 7.53 to 6.82 at p 0.135 and 6.53 to 6.15 at p 0.07 (72 a feature); about even at p 0.026 (27), 3% slower at p 0.01 and below.
    /// </summary>
    public const int PiecesOutermost = 32;

    /// <summary>
    /// Mean entries per sample in a block of <see cref="HiddenFeatures"/> features from which the encoder walks such
    /// blocks of W_in^T (rows in L1, chains resumed between blocks) rather than pieces of every row (from L2): with
    /// fewer, resuming the chains costs more than L1 saves. At n 512 that is 64 entries a sample. Interleaved step by
    /// step there on 2 threads: m 512 encoder 4.71 ms against 6.73 at p 0.5 (256 a sample), 2.65 against 3.34 at
    /// p 0.26, 2.14 against 2.30 at p 0.135 (69); below, at p 0.07 (36), 1.56 against 1.46 the other way.
    /// </summary>
    public const int EncoderBlocks = 12;

    public static int Count(int total, int block) => (total + block - 1) / block;

    /// <summary>
    /// Where block <paramref name="block"/> of <paramref name="blocks"/> starts (block <paramref name="blocks"/>: the end)
    /// when [0, <paramref name="total"/>) is cut into whole units of <paramref name="unit"/> shared out evenly. The dense
    /// products cut their rows so, in <see cref="Count"/>(total, <see cref="ProductRows"/>) blocks of whole 6-row tiles:
    /// none is over <see cref="ProductRows"/> (ceil(total / 6) &lt;= 16 ceil(total / 96)), and at n 512 the six blocks take
    /// 14, 14, 15, 14, 14 and 15 tiles (258 and 254 rows to 2 threads taking them in turn), where blocks of 96 rows (5 and
    /// a rest of 32) gave one 288 rows and the other 224.
    /// </summary>
    public static int Even(int block, int blocks, int total, int unit) =>
        Math.Min(total, unit * (int)((long)block * Count(total, unit) / blocks));

    /// <summary>Block <paramref name="block"/> of <paramref name="blocks"/> as <see cref="Even"/> cuts it: its start and its end.</summary>
    public static (int Start, int End) Share(int block, int blocks, int total, int unit) =>
        (Even(block, blocks, total, unit), Even(block + 1, blocks, total, unit));

    /// <summary>
    /// How many groups of panels a dense product's items take (each group's panels: <see cref="Even"/> with unit 1): groups
    /// of <see cref="LaneGroup"/> panels, or more and smaller ones where the blocks of rows alone do not share out evenly
    /// among the threads. At m 26 the dense g_h^T had one block of rows, which one of 2 threads ran while the other waited
    /// (perf: 6.5% of a step's CPU time at n 512, p 0.135); at m or n 256, three blocks gave one thread two.
    /// </summary>
    public static int LaneGroups(int panels, int rowBlocks, int threads) =>
        Math.Min(panels, Math.Max(Count(panels, LaneGroup), threads / Gcd(rowBlocks, threads)));

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
