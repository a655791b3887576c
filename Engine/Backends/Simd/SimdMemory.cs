using ToyModels.Backends.Simd.Loops;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Backends.Simd;

/// <summary>
/// The memory of <see cref="SimdBackend"/>: every buffer <see cref="Workspace"/> allocates, with the bytes it
/// reserves (the test <c>SimdMemoryTests</c> holds these to the workspace's actual allocations) and the bytes it
/// is expected to make resident.
/// </summary>
/// <remarks>
/// <para>Dense buffers are written whole and are resident whole; those of 2 MiB or more sit on 2 MiB pages where
/// the system gives transparent huge pages, so they are counted in whole 2 MiB.</para>
/// <para>The sparse buffers are sized for the worst case (every feature active) and only what is written becomes
/// resident, a 4 KiB page at a time: sparse x as rows (p n entries a row); g_z's nonzeros, listed per panel by the
/// fused loss and g_h walk and per feature by each thread of the gradient phase; and there, after them, x's. g_z
/// is nonzero where z &gt; 0: at initialisation about half the outputs (b and the W_out h are symmetric about 0),
/// and training only lowers that, so the lists are counted at density <see cref="FirstStepsDensity"/>, the
/// high-water mark of the first steps.</para>
/// </remarks>
internal static class SimdMemory
{
    /// <summary>The density of g_z in the first steps (half the z positive), whose lists stay resident.</summary>
    public const double FirstStepsDensity = 0.5;

    public const long Page = 4096;
    private const int Entry = 8; // sizeof(SparseEntry)

    /// <summary>
    /// The SIMD backends address every buffer with 64-bit offsets; inside one instance's batch the hot loops keep
    /// 32-bit ints, which holds while B n (offsets across an instance's panels, the lane kernels' active lists) and 64 n
    /// (a panel of 64 samples) stay below 2^31. Checked before anything is allocated.
    /// </summary>
    public static void CheckSizes(AutoencoderConfig config)
    {
        long perInstance = (long)config.Batch * config.N, panel = 64L * config.N;
        if (perInstance > int.MaxValue || panel > int.MaxValue)
            throw new ConfigException("AutoencoderConfig.Batch, AutoencoderConfig.N", $"{config.Batch}, {config.N} ({perInstance} samples x features per instance)",
                $"batch x n and 64 x n at most {int.MaxValue} on the simd backend (its per-instance loops index with 32-bit ints)");
    }

    public static IEnumerable<MemoryPart> Parts(AutoencoderConfig config, int threads)
    {
        threads = threads == 0 ? Environment.ProcessorCount : threads;
        long k = config.InstanceCount, n = config.N, m = config.M, batch = config.Batch;
        int tile = Workspace.Tile;
        long ldm = Workspace.OddLines(Workspace.RoundUp(config.M, Workspace.Alignment));
        long ldb = Workspace.RoundUp(config.Batch, tile), panels = ldb / tile;
        long hiddenTiles = (ldm + tile - 1) / tile;
        long featurePanel = n * tile + Workspace.Alignment, hiddenPanel = m * tile + Workspace.Alignment;
        long hiddenTile = batch * tile + Workspace.Alignment;
        long rowCapacity = Workspace.OddLines(Workspace.RoundUp(config.N, 8) * 2) / 2;
        long biasLength = config.Bias ? Workspace.RoundUp(config.N, Workspace.Alignment) : 0;
        long perInstance = (config.Tied ? 1 : 2) * n * ldm + biasLength;
        int slots = config.Optimizer.StateSlots;
        double p = config.Instances.Average(i => i.P);

        yield return Dense("parameters", k * perInstance * 4);
        if (slots > 0) yield return Dense("optimizer state", k * perInstance * 4, slots);
        yield return Dense("importance and gradient scale", k * n * 4, 2);
        yield return Dense("activations x^T, z^T, g_z^T", k * panels * featurePanel * 4, 3);
        // g_h^T is written only by the dense g_h path, which runs when g_z is denser than the dense threshold.
        bool denseHidden = FirstStepsDensity >= SimdBackend.DefaultDenseDensity;
        yield return Dense("activations h^T", k * panels * hiddenPanel * 4);
        yield return new MemoryPart("activations g_h^T", denseHidden ? k * panels * hiddenPanel * 4 : 0, Reserved: k * panels * hiddenPanel * 4);
        yield return Dense("activations h, g_h", k * hiddenTiles * hiddenTile * 4, 2);
        // The counts: per sample its entries of x; the decoder's plan for empty samples, per panel and per lane.
        yield return Dense("row losses, counts", k * ldb * 4 + k * batch * 4 + k * (panels + 1) * 4 + k * ldb * 4);

        // Sparse x: per sample a row of rowCapacity entries filled from the front with its p n nonzeros.
        long rows = k * batch * rowCapacity * Entry;
        long rowResident = k * batch * Math.Min(rowCapacity * Entry, (long)(Entry * p * n) + Page);
        yield return new MemoryPart("sparse x", rowResident, Reserved: rows);

        // g_z's nonzeros per panel (the fused walk, which runs while g_z is sparser than the dense threshold).
        long panelEntries = n * tile + SparseAppend.Slack;
        bool fused = FirstStepsDensity < SimdBackend.DefaultDenseDensity;
        long listed = fused ? k * panels * Math.Min(panelEntries * Entry, (long)(Entry * FirstStepsDensity * n * tile) + Page) : 0;
        long starts = k * panels * (n + 1) * 4;
        yield return new MemoryPart("g_z lists of the panels", listed + (fused ? starts : 0), Reserved: k * panels * panelEntries * Entry + starts);

        // Per thread: the gradient phase's lists (per feature of a block, its nonzero g_z over the batch, then its
        // nonzero x: the denser of the two) and blocks.
        int features = Blocking.Features;
        long listEntries = Math.Max(features * batch, tile * SampleLists.Room(config.N)) + SparseAppend.Slack;
        long busy = Math.Min(threads, k * Blocking.Count(config.N, features));
        double densest = Math.Max(FirstStepsDensity, config.Instances.Max(i => i.P));
        long perList = Math.Min(batch * Entry, (long)(Entry * densest * batch) + Page);
        long lists = busy * Math.Min(listEntries * Entry, Math.Min(features, n) * perList + tile * SampleLists.Room(config.N) * Entry);
        long scratch = threads * 4 * (2 * features * ldm + DenseProduct.PackFloats(Blocking.MostProductRows) + features + tile + 2 * Blocking.HiddenFeatures * tile + tile);
        yield return new MemoryPart("thread scratch", lists + scratch, Reserved: threads * listEntries * Entry + scratch);

        long blocks = k * Blocking.Count(config.N, features);
        yield return new MemoryPart("bookkeeping", k * panels * 9 + blocks * 8 + k * 64 + k * (n + 1) * 8);
    }

    /// <summary><paramref name="count"/> dense buffers of <paramref name="bytes"/>, written whole.</summary>
    private static MemoryPart Dense(string name, long bytes, int count = 1) => new(name, count * bytes);
}
