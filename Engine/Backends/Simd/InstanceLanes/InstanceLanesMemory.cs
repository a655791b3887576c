using ToyModels.Backends.Simd.Lanes;
using ToyModels.Data;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// The memory of <see cref="InstanceLanesBackend"/>: every buffer its constructor allocates (reserved; the test
/// <c>SimdMemoryTests</c> holds these to the actual allocations) and what becomes resident. Each group holds
/// Lanes instances, so every tensor is Lanes wide. A fused step works on per-thread blocks of rows, so the groups'
/// own g_z and g_h are written only by a separate Backward, and x, h, z only by GenerateBatch, Forward and Evaluate
/// (training evaluates at most a batch of rows at a time).
/// </summary>
internal static class InstanceLanesMemory
{
    public static int Lanes(InstructionSet set) => set switch
    {
        InstructionSet.Avx512 => 16,
        InstructionSet.Avx2 => 8,
        InstructionSet.Sse => 4,
        _ => 1,
    };

    /// <param name="config">The run whose buffers are listed: n, m, batch, instances (and their mean p), tied, bias, optimizer slots.</param>
    /// <param name="threads">Worker threads as the backend takes them (0: every core): the per-thread scratch and block buffers scale with it.</param>
    /// <param name="set">The instruction set the backend will use: its lanes per group (16, 8, 4 or 1) set the group count and every tensor's width.</param>
    /// <param name="evaluationSamples">Samples the run evaluates: x, h, z rows are written for min(B, that) rows only.</param>
    public static IEnumerable<MemoryPart> Parts(AutoencoderConfig config, int threads, InstructionSet set, long evaluationSamples = long.MaxValue)
    {
        threads = threads == 0 ? Environment.ProcessorCount : threads;
        int lanes = Lanes(set);
        long groups = (config.InstanceCount + lanes - 1) / lanes, words = Math.Max(1, lanes / 2); // Philox lanes per half group
        int n = config.N, m = config.M, b = config.Batch;
        long per = config.Layout.PerInstance, slots = config.Optimizer.StateSlots;
        long floats = 4L * lanes * groups; // bytes per element of a group tensor, all groups
        double p = config.Instances.Average(i => i.P);
        // Per-row tensors are kept in whole panels of rows (Panels).
        long RowBytes(int rows, int width) => 4 * Panels.Floats(rows, width, lanes) * groups;
        yield return new MemoryPart("parameters and gradients", 2 * floats * per);
        if (slots > 0) yield return new MemoryPart("optimizer state", slots * floats * per);
        int rows = (int)Math.Min(b, evaluationSamples);
        yield return new MemoryPart("activations x, h, z", RowBytes(rows, 2 * n + m), Reserved: RowBytes(b, 2 * n + m));
        yield return new MemoryPart("g_z, g_h (separate Backward only)", 0, Reserved: RowBytes(b, n + m));
        yield return new MemoryPart("row losses, importance, gradient scale", floats * (b + 2 * n) + 2 * 4 * lanes * groups);
        // Per group: the seeds, the data stream's key schedule and thresholds (LaneStream).
        yield return new MemoryPart("data stream keys", 8 * (config.InstanceCount + groups * (4 * Philox.Rounds + 2) * words));
        if (config.Tied) yield return new MemoryPart("tied gW_out", floats * n * m);
        // Per thread: the data stream's list of active entries (p of each pass's elements are written), its masks and
        // round-0 words; and the buffers of one block of rows (one per thread and one more).
        long lists = 8 * StreamScratch.Capacity(n, lanes), listsResident = Math.Min(lists, (long)(lists * p) + SimdMemory.Page);
        long stream = (n + 3) / 4 * 3 * 64 + (long)StreamScratch.PassRows(n) * ((n + 3) / 4) * 8;
        long block = 4 * Panels.Floats(InstanceLanesBackend.RowsPerBlock(n, m, b, lanes), 3 * n + 2 * m, lanes);
        long blocks = InstanceLanesBackend.BlockBuffers(threads) * block;
        yield return new MemoryPart("thread scratch", threads * (listsResident + stream) + blocks, Reserved: threads * (lists + stream) + blocks);
        yield return new MemoryPart("bookkeeping", config.InstanceCount * (2L * 4 * n + 32));
    }
}
