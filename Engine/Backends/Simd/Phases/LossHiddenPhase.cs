namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// The loss, g_z and the sparse g_h walk fused, an item per panel of a training batch (g_z is listed while in
/// cache, the g_z^T panels are not written); the first items build x's columns, one per instance. Then per
/// instance g_z's statistics.
/// </summary>
internal sealed class LossHiddenPhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;

    public void Run(IItemRunner runner, InstanceSet instances)
    {
        _instances = instances;
        runner.Run(this, instances.Count * (1 + W.Panels));
        State.SummarizeGradient(instances, W.Batch);
    }

    protected override void RunItem(int item, int thread)
    {
        int count = _instances.Count;
        if (item < count)
        {
            InputColumns.Build(W, _instances[item]);
            return;
        }
        int s = _instances[(item - count) / W.Panels], p = (item - count) % W.Panels;
        (State.PanelNonzero[s * W.Panels + p], State.PanelSmallest[s * W.Panels + p]) = State.Kernels.LossAndHiddenGradient(W, s, p, W.Scratch[thread]);
    }
}
