namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// Per instance which samples the decoder takes (<see cref="EmptySamples"/>); h = W_in x, sparse over x, and the h^T
/// panels, an item per panel; then per instance h's smallest magnitude and finiteness.
/// </summary>
internal sealed class EncodePhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    private int _rows, _panels;

    public void Run(IItemRunner runner, InstanceSet instances, int rows)
    {
        (_instances, _rows, _panels) = (instances, rows, StepState.Panels(rows));
        for (int i = 0; i < instances.Count; i++) EmptySamples.Plan(W, instances[i], rows, State.DecodeEmptyOnce);
        runner.Run(this, instances.Count * _panels);
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            ref var record = ref State.Records[s];
            record.HSmallest = float.PositiveInfinity;
            record.HNonFinite = false;
            for (int p = 0; p < _panels; p++)
            {
                record.HSmallest = MathF.Min(record.HSmallest, State.PanelSmallest[s * W.Panels + p]);
                record.HNonFinite |= State.PanelNonFinite[s * W.Panels + p];
            }
        }
    }

    protected override void RunItem(int item, int thread)
    {
        int s = _instances[item / _panels], p = item % _panels;
        (State.PanelSmallest[s * W.Panels + p], State.PanelNonFinite[s * W.Panels + p]) = State.Kernels.Encode(W, s, p, _rows, W.Scratch[thread]);
    }
}
