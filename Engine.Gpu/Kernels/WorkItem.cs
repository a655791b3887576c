using ILGPU;

namespace ToyModels.Gpu.Kernels;

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
