namespace ToyModels.Backends.Simd.Phases;

/// <summary>The optimizer over the stored gradients, an item per block of <see cref="Blocking.Features"/> features.</summary>
internal sealed class UpdatePhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    private OptimizerScalars _scalars = null!;

    public void Run(IItemRunner runner, InstanceSet instances, OptimizerScalars scalars)
    {
        (_instances, _scalars) = (instances, scalars);
        runner.Run(this, instances.Count * State.FeatureBlocks);
    }

    protected override void RunItem(int item, int thread)
    {
        int s = _instances[item / State.FeatureBlocks], block = item % State.FeatureBlocks, i0 = block * Blocking.Features;
        State.BlockResults[s * State.FeatureBlocks + block] = State.Kernels.Update(W, s, i0, Math.Min(i0 + Blocking.Features, W.N), _scalars);
    }
}
