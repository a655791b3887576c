namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// The loss, g_z and the sparse g_h walk fused, an item per panel of a training batch (g_z is listed while in
/// cache, the g_z^T panels are not written); the last items, short ones after the long, write x's columns, one per
/// panel of each instance. Then per instance g_z's statistics.
/// </summary>
internal sealed class LossHiddenPhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    /// <summary>The instances of the set whose x columns are still to be written.</summary>
    private readonly InstanceSet _columns = new(state.W.Instances);

    public void Run(IItemRunner runner, InstanceSet instances)
    {
        _instances = instances;
        InputColumns.Pending(State, instances, _columns);
        runner.Run(this, (instances.Count + _columns.Count) * W.Panels);
        InputColumns.Written(State, _columns);
        State.SummarizeGradient(instances, W.Batch);
    }

    protected override void RunItem(int item, int thread)
    {
        int panels = _instances.Count * W.Panels;
        if (item >= panels)
        {
            item -= panels;
            InputColumns.Scatter(W, _columns[item / W.Panels], item % W.Panels);
            return;
        }
        int s = _instances[item / W.Panels], p = item % W.Panels;
        (State.PanelNonzero[s * W.Panels + p], State.PanelSmallest[s * W.Panels + p]) = State.Kernels.LossAndHiddenGradient(W, s, p, W.Scratch[thread]);
    }
}
