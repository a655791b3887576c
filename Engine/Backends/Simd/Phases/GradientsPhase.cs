namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// Every gradient, an item per block of <see cref="Blocking.Features"/> features: gW_out by the instance's
/// path, gW_in and g_b, handed to the optimizer as they are finished (a fused step) or stored.
/// </summary>
internal sealed class GradientsPhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    private OptimizerScalars? _fused;

    /// <param name="runner">Runs the items (instances.Count x <see cref="StepState.FeatureBlocks"/>) on the pool's threads or inline on one thread.</param>
    /// <param name="instances">The instances whose gradients are computed; their backward paths (StepState.Records) are already chosen.</param>
    /// <param name="fused">The optimizer step to apply as rows are finished, or null to store the gradients.</param>
    public void Run(IItemRunner runner, InstanceSet instances, OptimizerScalars? fused)
    {
        (_instances, _fused) = (instances, fused);
        runner.Run(this, instances.Count * State.FeatureBlocks);
    }

    protected override void RunItem(int item, int thread)
    {
        int s = _instances[item / State.FeatureBlocks], block = item % State.FeatureBlocks, i0 = block * Blocking.Features;
        State.BlockResults[s * State.FeatureBlocks + block] = State.Kernels.Gradients(W, s, i0, Math.Min(i0 + Blocking.Features, W.N),
            W.Scratch[thread], _fused, State.Records[s].Paths.Decoder, State.Records[s].SkipsEmpty);
    }
}
