using ToyModels.Model;

namespace ToyModels.Backends.Simd;

/// <summary>
/// Every buffer of the SIMD backend, in its internal layouts, as native memory the kernels address
/// with pointers. Only what crosses IBackend is converted to the canonical layout (docs/numerics.md).
/// </summary>
/// <remarks>
/// Per instance, the parameter block holds E = W_in^T (n x ldm: row i is feature i's encoder column,
/// contiguous over hidden units j, so the sparse encoder and gW_in walk whole rows), then D = W_out
/// (n x ldm, untied only), then b (n, padded). Tied models keep W^T, which is both W_in^T and W_out.
/// ldm is m rounded up to 16 floats so rows are whole vectors of every width; the padding lanes start at
/// zero and never flow into a real lane (every reduction runs over the real extent only).
/// Optimizer state slots and materialised gradients use the same layout.
/// Activations that the dense decoder and the loss walk across samples are stored transposed,
/// [feature][sample] with ldb = B rounded up to 16; sparse ones as rows (CSR) and columns (CSC).
/// </remarks>
internal sealed unsafe class Workspace : IDisposable
{
    public const int Alignment = 16;

    public readonly int N, M, Ldm, Batch, Ldb, Instances, BiasLength;
    public readonly bool Tied, Bias;
    /// <summary>Floats per instance in the internal parameter layout, and where E, D and b start in a block.</summary>
    public readonly nint PerInstance, EncoderOffset, DecoderOffset, BiasOffset;

    public readonly float* Parameters;
    /// <summary>Optimizer state slots (Adam's m and v; SGD's momentum), or null.</summary>
    public readonly float* First, Second;
    public readonly float* Importance, GradScale;     // [k][n]
    public readonly ulong[] Seed, Threshold;

    // x as rows (the encoder), as columns (gW_in) and dense transposed (the loss).
    public readonly int* XIndex; public readonly float* XValue; public readonly int* XCount;   // [k][B][n], [k][B]
    public readonly int* XColumnStart;                                                           // [k][n + 1]
    public readonly int* XColumnRow; public readonly float* XColumnValue;                       // [k][B n]
    public readonly float* XT;                                                                   // [k][n][ldb]
    public readonly float* H, GH;                                                                // [k][B][ldm]
    public readonly float* HT;                                                                   // [k][m][ldb]
    public readonly float* ZT, GzT;                                                              // [k][n][ldb]
    public readonly int* GzIndex; public readonly float* GzValue; public readonly int* GzCount;  // [k][B][n], [k][B]
    public readonly float* RowLoss;                                                              // [k][ldb]
    public readonly ThreadScratch[] Scratch;

    private readonly List<NativeBuffer> _buffers = [];
    private NativeBuffer? _gradients;

    public Workspace(AutoencoderConfig config, InstanceConstants constants, int threads)
    {
        N = config.N; M = config.M; Batch = config.Batch; Instances = config.InstanceCount;
        Tied = config.Tied; Bias = config.Bias;
        Ldm = RoundUp(M); Ldb = RoundUp(Batch);
        BiasLength = Bias ? RoundUp(N) : 0;
        nint matrix = (nint)N * Ldm;
        EncoderOffset = 0;
        DecoderOffset = matrix;
        BiasOffset = Tied ? matrix : 2 * matrix;
        PerInstance = BiasOffset + BiasLength;

        int k = Instances, slots = config.Optimizer.StateSlots;
        Parameters = Floats(k * PerInstance);
        First = slots >= 1 ? Floats(k * PerInstance) : null;
        Second = slots >= 2 ? Floats(k * PerInstance) : null;
        Importance = Floats((nint)k * N);
        GradScale = Floats((nint)k * N);
        new ReadOnlySpan<float>(constants.Importance).CopyTo(new Span<float>(Importance, k * N));
        new ReadOnlySpan<float>(constants.GradScale).CopyTo(new Span<float>(GradScale, k * N));
        Seed = constants.Seed;
        Threshold = constants.Threshold;

        // The sparse structures are sized for the worst case (every feature active) in one block, so the
        // operating system maps it lazily: only the entries actually written become resident.
        nint sparse = (nint)k * Batch * N;
        var arena = Allocate(6 * sparse * sizeof(float));
        XIndex = (int*)arena;
        XValue = (float*)(XIndex + sparse);
        XColumnRow = (int*)(XValue + sparse);
        XColumnValue = (float*)(XColumnRow + sparse);
        GzIndex = (int*)(XColumnValue + sparse);
        GzValue = (float*)(GzIndex + sparse);
        XCount = (int*)Allocate((nint)k * Batch * sizeof(int));
        GzCount = (int*)Allocate((nint)k * Batch * sizeof(int));
        XColumnStart = (int*)Allocate((nint)k * (N + 1) * sizeof(int));
        XT = Floats((nint)k * N * Ldb);
        H = Floats((nint)k * Batch * Ldm);
        GH = Floats((nint)k * Batch * Ldm);
        HT = Floats((nint)k * M * Ldb);
        ZT = Floats((nint)k * N * Ldb);
        GzT = Floats((nint)k * N * Ldb);
        RowLoss = Floats((nint)k * Ldb);
        Scratch = new ThreadScratch[threads];
        for (int t = 0; t < threads; t++)
            Scratch[t] = new ThreadScratch((int*)Allocate(Ldb * sizeof(int)), Floats(Ldb), Floats(Ldm), Floats(Blocking.Features + Alignment));
    }

    public static int RoundUp(int count) => (count + Alignment - 1) / Alignment * Alignment;

    /// <summary>Instance s's parameter block.</summary>
    public float* Block(float* all, int s) => all + s * PerInstance;

    /// <summary>Gradients in the parameter layout, allocated by the first Backward that is not fused into a Step.</summary>
    public float* Gradients => _gradients is null ? null : (float*)_gradients.Pointer;

    public float* EnsureGradients()
    {
        if (_gradients is null)
        {
            _gradients = new NativeBuffer(Instances * PerInstance * sizeof(float));
            _buffers.Add(_gradients);
        }
        return (float*)_gradients.Pointer;
    }

    /// <summary>Start of sample b's sparse row (capacity n) in instance s's row structures.</summary>
    public nint SparseRow(int s, int b) => ((nint)s * Batch + b) * N;

    private float* Floats(nint count) => (float*)Allocate(count * sizeof(float));

    private byte* Allocate(nint bytes)
    {
        var buffer = new NativeBuffer(bytes);
        _buffers.Add(buffer);
        return buffer.Pointer;
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
    }
}

/// <summary>One thread's working memory: a sparse list of up to B entries, a gradient row (tied models) and a block of bias gradients.</summary>
internal readonly unsafe struct ThreadScratch(int* listIndex, float* listValue, float* row, float* biasGradient)
{
    public readonly int* ListIndex = listIndex;
    public readonly float* ListValue = listValue;
    public readonly float* Row = row;
    public readonly float* BiasGradient = biasGradient;
}
