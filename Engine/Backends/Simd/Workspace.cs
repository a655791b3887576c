using ToyModels.Model;

namespace ToyModels.Backends.Simd;

/// <summary>
/// Every buffer of the SIMD backend, in its internal layouts, as native memory the kernels address
/// with pointers. Only what crosses IBackend is converted to the canonical layout (docs/numerics.md).
/// </summary>
/// <remarks>
/// <para>Parameters: per instance, E = W_in^T (n rows of ldm: row i is feature i's encoder column,
/// contiguous over hidden units, so the sparse encoder and gW_in walk whole rows), then D = W_out (n rows
/// of ldm, untied only), then b (n, padded). Tied models keep W^T, which is both W_in^T and W_out. ldm is m
/// rounded up to 16 floats and to an odd number of cache lines (rows read together then never share a
/// cache set). Padding lanes start at zero and never flow into a real lane: every reduction runs over the
/// real extent only. Optimizer state slots and materialised gradients use the same layout.</para>
/// <para>Activations are cut into tiles of 64 lanes (4 AVX-512 vectors, the dense product's tile width).
/// Those walked across samples (x^T, h^T, z^T, g_z^T, g_h^T) are panels of 64 samples: element (i, b) at
/// (b / 64) * panelStride + 64 i + b % 64, so a vector holds one feature of several samples and a walk
/// down the features of a panel is one contiguous run. h^T, the decoder's right operand, cuts each panel further
/// into strips of the dense product's tile lanes S (16 with AVX2): element (j, b) at (b / 64) * panelStride +
/// (b % 64 / S) S m + S j + b % S, so the lanes a tile reads over a run of j are one contiguous block, not rows 256
/// bytes apart that share a few cache sets (<see cref="Loops.DenseProduct.TileLanes"/>; with AVX-512, S is 64 and a
/// strip is the whole panel). h and g_h, walked across hidden units, are tiles of
/// 64 units: element (b, j) at (j / 64) * tileStride + 64 b + j % 64. Every stride adds one cache line so
/// rows of different panels never alias. Sparse x is kept as rows (per sample, ascending features); gW_in lists
/// each feature's nonzero x from the x^T panels.</para>
/// </remarks>
internal sealed unsafe class Workspace : IDisposable
{
    public const int Alignment = 16;
    /// <summary>Lanes per tile and samples per panel.</summary>
    public const int Tile = 64;

    public readonly int N, M, Ldm, Batch, Ldb, Instances, BiasLength, Panels, HiddenTiles;
    /// <summary>
    /// m rounded up to whole vectors of 16: the lanes the sparse products run. A row's lanes past them, up to Ldm, are
    /// padding, +0 in every parameter, Adam state and activation row.
    /// </summary>
    public readonly int RowLanes;
    public readonly bool Tied, Bias;
    /// <summary>Floats per instance in the internal parameter layout, and where E, D and b start in a block.</summary>
    public readonly nint PerInstance, EncoderOffset, DecoderOffset, BiasOffset;
    /// <summary>Floats per panel of the n-feature and m-unit panel buffers, and per tile of h and g_h.</summary>
    public readonly nint FeaturePanel, HiddenPanel, HiddenTile;
    /// <summary>Entries per sparse row (room for n; an odd number of cache lines).</summary>
    public readonly nint RowCapacity;

    public readonly float* Parameters;
    /// <summary>Optimizer state slots (Adam's m and v; SGD's momentum), or null.</summary>
    public readonly float* First, Second;
    public readonly float* Importance, GradScale;     // [k][n]
    public readonly ulong[] Seed, Threshold;

    public readonly SparseEntry* XRows;      // [k][B][RowCapacity]
    public readonly int* XCount;             // [k][B]
    /// <summary>The decoder's plan for samples with no active feature (Phases.EmptySamples): per panel where its kept samples start among the kept, and per lane whose z it takes.</summary>
    public readonly int* KeptStart;          // [k][panels + 1]
    public readonly int* KeptColumn;         // [k][ldb]
    /// <summary>
    /// g_z's nonzeros of each panel, by ascending feature and then sample (the sample's number in the batch):
    /// panel p of instance s holds <see cref="PanelEntries"/> entries from <see cref="GzListOf"/>, feature i's
    /// from GzStartOf(s, p)[i] to [i + 1]. Written by the fused loss and g_h walk, in place of the g_z^T panels.
    /// </summary>
    public readonly SparseEntry* GzEntries;
    public readonly int* GzStart;            // [k][panels][n + 1]
    public readonly nint PanelEntries;
    public readonly float* XT, ZT, GzT;      // [k] panels of n features
    public readonly float* HT, GhT;          // [k] panels of m units (h^T in strips)
    public readonly float* H, GH;            // [k] tiles of B samples
    public readonly float* RowLoss;          // [k][ldb]
    public readonly ThreadScratch[] Scratch;

    private readonly List<NativeBuffer> _buffers = [];
    private NativeBuffer? _gradients;

    public Workspace(AutoencoderConfig config, InstanceConstants constants, int threads)
    {
        N = config.N; M = config.M; Batch = config.Batch; Instances = config.InstanceCount;
        Tied = config.Tied; Bias = config.Bias;
        RowLanes = RoundUp(M, Alignment);
        Ldm = OddLines(RowLanes);
        Ldb = RoundUp(Batch, Tile);
        Panels = Ldb / Tile;
        HiddenTiles = (Ldm + Tile - 1) / Tile;
        FeaturePanel = (nint)N * Tile + Alignment;
        HiddenPanel = (nint)M * Tile + Alignment;
        HiddenTile = (nint)Batch * Tile + Alignment;
        RowCapacity = OddLines(RoundUp(N, 8) * 2) / 2;
        BiasLength = Bias ? RoundUp(N, Alignment) : 0;
        nint matrix = (nint)N * Ldm;
        EncoderOffset = 0;
        DecoderOffset = matrix;
        BiasOffset = Tied ? matrix : 2 * matrix;
        PerInstance = BiasOffset + BiasLength;

        int k = Instances, slots = config.Optimizer.StateSlots;
        ActivationSlot = new int[k];
        OwnSlots();
        Parameters = Floats(k * PerInstance);
        First = slots >= 1 ? Floats(k * PerInstance) : null;
        Second = slots >= 2 ? Floats(k * PerInstance) : null;
        Importance = Floats((nint)k * N);
        GradScale = Floats((nint)k * N);
        new ReadOnlySpan<float>(constants.Importance).CopyTo(new Span<float>(Importance, k * N));
        new ReadOnlySpan<float>(constants.GradScale).CopyTo(new Span<float>(GradScale, k * N));
        Seed = constants.Seed;
        Threshold = constants.Threshold;

        // The sparse rows are sized for the worst case (every feature active), which the operating system maps
        // lazily: only the entries actually written become resident.
        XRows = (SparseEntry*)Allocate((nint)k * Batch * RowCapacity * sizeof(SparseEntry));
        // g_z's nonzeros as the fused loss walk lists them, per panel by feature: worst case again, touched from the front.
        PanelEntries = (nint)N * Tile + Lanes.SparseAppend.Slack;
        GzEntries = (SparseEntry*)Allocate((nint)k * Panels * PanelEntries * sizeof(SparseEntry));
        GzStart = (int*)Allocate((nint)k * Panels * (N + 1) * sizeof(int));
        XCount = (int*)Allocate((nint)k * Batch * sizeof(int));
        KeptStart = (int*)Allocate((nint)k * (Panels + 1) * sizeof(int));
        KeptColumn = (int*)Allocate((nint)k * Ldb * sizeof(int));
        Kept = new int[k];
        XT = Floats(k * Panels * FeaturePanel);
        ZT = Floats(k * Panels * FeaturePanel);
        GzT = Floats(k * Panels * FeaturePanel);
        HT = Floats(k * Panels * HiddenPanel);
        GhT = Floats(k * Panels * HiddenPanel);
        H = Floats(k * HiddenTiles * HiddenTile);
        GH = Floats(k * HiddenTiles * HiddenTile);
        RowLoss = Floats((nint)k * Ldb);
        int features = Blocking.Features;
        Scratch = new ThreadScratch[threads];
        for (int t = 0; t < threads; t++)
            Scratch[t] = new ThreadScratch(
                (SparseEntry*)Allocate((Math.Max((nint)features * Batch, Tile * Loops.SampleLists.Room(N)) + Lanes.SparseAppend.Slack) * sizeof(SparseEntry)),
                (int*)Allocate(Tile * sizeof(int)),
                Floats((nint)features * Ldm),
                Floats((nint)features * Ldm),
                Floats(Loops.DenseProduct.PackFloats(Blocking.MostProductRows)),
                Floats(features + Tile),
                Floats((nint)Blocking.HiddenFeatures * Tile),
                Floats((nint)Blocking.HiddenFeatures * Tile));
    }

    public static int RoundUp(int count, int multiple) => (count + multiple - 1) / multiple * multiple;

    /// <summary>A multiple of 16 floats (a cache line) that is an odd number of lines: the next one up if needed.</summary>
    internal static int OddLines(int floats) => floats / Alignment % 2 == 0 ? floats + Alignment : floats;

    /// <summary>Instance s's parameter block.</summary>
    public float* Block(float* all, int s) => all + s * PerInstance;

    /// <summary>
    /// Per instance, whose room in the activation buffers it uses: its own (s), except during a whole step of a pack,
    /// whose instances share the first few rooms (one per thread, or per instance of a block) so that the same
    /// few megabytes stay in cache from instance to instance. Row losses always stay in the instance's own room.
    /// </summary>
    public readonly int[] ActivationSlot;

    /// <summary>
    /// Per instance, the samples its last Forward decoded when it left out the empty ones (Phases.EmptySamples), or 0
    /// when it decoded every sample.
    /// </summary>
    public readonly int[] Kept;

    /// <summary>Where instance s's activations are.</summary>
    public int Slot(int s) => ActivationSlot[s];

    /// <summary>Every instance in its own room again.</summary>
    public void OwnSlots()
    {
        for (int s = 0; s < Instances; s++) ActivationSlot[s] = s;
    }

    /// <summary>Panel p of instance s in an n-feature panel buffer (x^T, z^T, g_z^T).</summary>
    public float* FeaturePanelOf(float* buffer, int s, int p) => buffer + ((nint)Slot(s) * Panels + p) * FeaturePanel;

    public SparseEntry* GzListOf(int s, int p) => GzEntries + ((nint)Slot(s) * Panels + p) * PanelEntries;
    public int* GzStartOf(int s, int p) => GzStart + ((nint)Slot(s) * Panels + p) * (N + 1);

    /// <summary>Panel p of instance s in h^T or g_h^T.</summary>
    public float* HiddenPanelOf(float* buffer, int s, int p) => buffer + ((nint)Slot(s) * Panels + p) * HiddenPanel;

    /// <summary>Instance s's h or g_h (its first tile).</summary>
    public float* Tiles(float* buffer, int s) => buffer + (nint)Slot(s) * HiddenTiles * HiddenTile;

    /// <summary>Sample b's sparse row of x in instance s.</summary>
    public nint SparseRow(int s, int b) => ((nint)Slot(s) * Batch + b) * RowCapacity;

    /// <summary>The entries of each sparse row of x of instance s, by sample.</summary>
    public int* XCountOf(int s) => XCount + (nint)Slot(s) * Batch;

    /// <summary>Instance s's kept samples: where each panel's start among them, and per lane the one whose z it takes.</summary>
    public int* KeptStartOf(int s) => KeptStart + (nint)Slot(s) * (Panels + 1);
    public int* KeptColumnOf(int s) => KeptColumn + (nint)Slot(s) * Ldb;

    /// <summary>Gradients in the parameter layout, allocated by the first Backward that is not fused into a Step.</summary>
    public float* Gradients => _gradients is null ? null : (float*)_gradients.Pointer;

    public float* EnsureGradients()
    {
        if (_gradients is null)
        {
            _gradients = new NativeBuffer(Instances * PerInstance * sizeof(float), hugePages: true);
            _buffers.Add(_gradients);
        }
        return (float*)_gradients.Pointer;
    }

    /// <summary>A dense buffer (every float is written): on huge pages where the system allows.</summary>
    private float* Floats(nint count) => (float*)Allocate(count * sizeof(float), hugePages: true);

    private byte* Allocate(nint bytes, bool hugePages = false)
    {
        var buffer = new NativeBuffer(bytes, hugePages);
        _buffers.Add(buffer);
        return buffer.Pointer;
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
    }
}

/// <summary>
/// One thread's working memory: sparse lists (per feature of a block, its nonzero g_z over samples, room
/// for B each; or per sample of a panel, its nonzero g_z in one block of features) with room for one
/// vector's append past the last, and their lengths;
/// a block of gradient rows; the dense product's packed A block; the block's bias gradients; a block of g_z and of x.
/// </summary>
internal readonly unsafe struct ThreadScratch(SparseEntry* lists, int* counts, float* rows, float* inputRows, float* pack, float* biasGradient,
    float* gradientBlock, float* inputBlock)
{
    /// <summary>One block of g_z rows of a panel (Blocking.HiddenFeatures x 64) in the fused loss and g_h walk.</summary>
    public readonly float* GradientBlock = gradientBlock;
    /// <summary>The same block of x rows, scattered from the sparse rows of x; zero between uses.</summary>
    public readonly float* InputBlock = inputBlock;
    public readonly SparseEntry* Lists = lists;
    public readonly int* Counts = counts;
    /// <summary>Blocking.Features rows of ldm: the block's gW_out rows.</summary>
    public readonly float* Rows = rows;
    /// <summary>Blocking.Features rows of ldm: the block's gW_in^T rows when walked in blocks of samples.</summary>
    public readonly float* InputRows = inputRows;
    public readonly float* Pack = pack;
    public readonly float* BiasGradient = biasGradient;
}
