namespace ToyModels.Backends.Simd.Phases;

/// <summary>g_h from the g_h^T panels of the instances whose g_h ran dense, an item per panel.</summary>
internal sealed class TransposeHiddenPhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;

    public void Run(IItemRunner runner, InstanceSet instances)
    {
        _instances = instances;
        runner.Run(this, instances.Count * W.Panels);
    }

    protected override void RunItem(int item, int thread) =>
        State.Kernels.TransposeHiddenGradient(W, _instances[item / W.Panels], item % W.Panels);
}
