using ToyModels.Backends.Simd.Lanes;
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

    /// <param name="evaluationSamples">Samples the run evaluates: x, h, z rows are written for min(B, that) rows only.</param>
    public static IEnumerable<MemoryPart> Parts(AutoencoderConfig config, int threads, InstructionSet set, long evaluationSamples = long.MaxValue)
    {
        threads = threads == 0 ? Environment.ProcessorCount : threads;
        long lanes = Lanes(set), groups = (config.InstanceCount + lanes - 1) / lanes;
        long n = config.N, m = config.M, b = config.Batch, per = config.Layout.PerInstance, slots = config.Optimizer.StateSlots;
        long floats = 4 * lanes * groups; // bytes per element of a group tensor, all groups
        double p = config.Instances.Average(i => i.P);
        yield return new MemoryPart("parameters and gradients", 2 * floats * per);
        if (slots > 0) yield return new MemoryPart("optimizer state", slots * floats * per);
        long rows = Math.Min(b, evaluationSamples);
        yield return new MemoryPart("activations x, h, z", floats * rows * (2 * n + m), Reserved: floats * b * (2 * n + m));
        yield return new MemoryPart("g_z, g_h (separate Backward only)", 0, Reserved: floats * b * (n + m));
        yield return new MemoryPart("row losses, importance, gradient scale", floats * (b + 2 * n) + 2 * 4 * lanes * groups);
        if (config.Tied) yield return new MemoryPart("tied gW_out", floats * n * m);
        // Per thread: the active features of the rows being generated (p n per row), and one block of rows.
        long active = b * n * 4;
        long activeResident = Math.Min(active, (long)(4 * p * n * b) + SimdMemory.Page);
        long blockRows = Math.Clamp((256 << 10) / ((3 * n + 2 * m) * lanes * 4), 1, b);
        long block = blockRows * (3 * n + 2 * m) * lanes * 4;
        yield return new MemoryPart("thread scratch", threads * (2 * activeResident + block), Reserved: threads * (2 * active + block));
        yield return new MemoryPart("bookkeeping", config.InstanceCount * (2L * 4 * n + 32));
    }
}
