using ILGPU;
using ILGPU.Runtime;

namespace ToyModels.Gpu.Kernels;

/// <summary>
/// A loaded kernel with a typed launch: its one argument is the kernel's own argument struct, so a
/// launch that disagrees with the kernel does not compile.
/// </summary>
internal sealed class Launcher<TArguments>(Action<AcceleratorStream, KernelConfig, TArguments> launch, int maxInstancesPerLaunch)
    where TArguments : struct, IInstanceArguments
{
    /// <summary>
    /// Queues <paramref name="groups"/> x instances groups of <paramref name="groupSize"/> work-items
    /// (in chunks of at most maxInstancesPerLaunch instances).
    /// </summary>
    public void Launch(AcceleratorStream stream, long groups, int groupSize, int instances, TArguments arguments)
    {
        if (groups < 1 || groups > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(groups), groups, "a launch has 1 .. 2^31 - 1 groups");
        for (int first = 0; first < instances; first += maxInstancesPerLaunch)
        {
            arguments.FirstInstance = first;
            int count = Math.Min(maxInstancesPerLaunch, instances - first);
            launch(stream, new KernelConfig(new Index3D((int)groups, count, 1), new Index3D(groupSize, 1, 1)), arguments);
        }
    }
}
