using ILGPU;
using ToyModels.Model;

namespace ToyModels.Gpu.Kernels;

/// <summary>
/// The kernels index device buffers with 32-bit integers (ILGPU addresses element i of a view as its
/// base plus 4 i, widened from 32 bits), so a run whose device buffer holds more than
/// <see cref="MaxElements"/> elements is refused when its backend is made, before anything is allocated.
/// Within that limit no index overflows: every index a kernel computes, intermediate products
/// included, is below the size of the buffer it addresses (the products go outward from the instance:
/// <c>(s * Batch + r) * N + i</c> with r &lt; Batch and i &lt; N), and the one value that can pass a
/// buffer's size, a work-item's position in a launch rounded up to whole groups, is 64-bit
/// (<see cref="WorkItem"/>).
/// </summary>
internal static class IndexLimits
{
    public const long MaxElements = int.MaxValue;

    /// <summary>Throws <see cref="ConfigException"/> naming the sizes and the buffer when a buffer of this run is beyond <see cref="MaxElements"/>.</summary>
    public static void Check(AutoencoderConfig config) =>
        Check(config.InstanceCount, config.N, config.M, config.Batch, config.Layout.PerInstance, config.Optimizer.StateSlots);

    /// <summary>
    /// The largest buffers: parameters (gradients alike), optimizer state (all slots in one buffer) and
    /// activations [k][B][max(n, m)]; the nonzero lists of x and g_z and their scratch counts are no
    /// larger than x.
    /// </summary>
    public static void Check(long instances, long n, long m, long batch, long perInstance, int stateSlots)
    {
        long parameters = instances * perInstance;
        (string What, long Elements)[] buffers =
        [
            ("parameters", parameters),
            ("optimizer state", stateSlots * parameters),
            ("activations", instances * batch * Math.Max(n, m)),
        ];
        foreach (var (what, elements) in buffers)
            if (elements > MaxElements)
                throw new ConfigException("n, m, batch, instances", $"{n}, {m}, {batch}, {instances} ({what}: {elements} elements in one buffer)",
                    $"sizes whose every GPU buffer holds at most {MaxElements} elements (the GPU kernels index with 32-bit integers)");
    }
}

/// <summary>A work-item's position along grid dimension 0 of a one-output-per-work-item launch.</summary>
internal static class WorkItem
{
    /// <summary>
    /// This work-item's index, and whether it is below <paramref name="count"/>. Computed in 64 bits: a
    /// launch is rounded up to whole groups, so with a count near 2^31 the last group's positions pass
    /// int.MaxValue (a 32-bit product would wrap to a negative index that passes the bounds check).
    /// </summary>
    public static bool Index(int count, out int index)
    {
        long position = (long)Grid.IdxX * Group.DimX + Group.IdxX;
        index = (int)position;
        return position < count;
    }
}
