namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// The loss, g_z and the sparse g_h walk fused, an item per panel of a training batch (g_z is listed while in
/// cache, the g_z^T panels are not written). Then per instance g_z's statistics.
/// </summary>
internal sealed class LossHiddenPhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;

    public void Run(IItemRunner runner, InstanceSet instances)
    {
        _instances = instances;
        runner.Run(this, instances.Count * W.Panels);
        State.SummarizeGradient(instances, W.Batch);
    }

    protected override void RunItem(int item, int thread)
    {
        int s = _instances[item / W.Panels], p = item % W.Panels;
        (State.PanelNonzero[s * W.Panels + p], State.PanelSmallest[s * W.Panels + p]) = State.Kernels.LossAndHiddenGradient(W, s, p, W.Scratch[thread]);
    }
}
