namespace ToyModels.Backends.Simd.Phases;

/// <summary>Row losses and, with gradients, g_z into the g_z^T panels, an item per panel; then per instance g_z's statistics.</summary>
internal sealed class LossPhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    private int _rows, _panels;
    private bool _gradients;

    public void Run(IItemRunner runner, InstanceSet instances, int rows, bool gradients)
    {
        (_instances, _rows, _panels, _gradients) = (instances, rows, StepState.Panels(rows), gradients);
        runner.Run(this, instances.Count * _panels);
        if (gradients) State.SummarizeGradient(instances, rows);
    }

    protected override void RunItem(int item, int thread)
    {
        int s = _instances[item / _panels], p = item % _panels;
        (State.PanelNonzero[s * W.Panels + p], State.PanelSmallest[s * W.Panels + p]) = State.Kernels.Loss(W, s, p, _rows, _gradients);
    }
}
