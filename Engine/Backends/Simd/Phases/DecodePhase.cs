namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// z^T = W_out h + b, the one dense product: an item per block of <see cref="Blocking.ProductRows"/> features and
/// <see cref="Blocking.LaneGroup"/> panels.
/// </summary>
internal sealed class DecodePhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    private int _rows, _groups, _blocks;

    public void Run(IItemRunner runner, InstanceSet instances, int rows)
    {
        (_instances, _rows, _groups) = (instances, rows, Blocking.Count(StepState.Panels(rows), Blocking.LaneGroup));
        _blocks = Blocking.Count(W.N, Blocking.ProductRows) * _groups;
        runner.Run(this, instances.Count * _blocks);
    }

    protected override void RunItem(int item, int thread)
    {
        int s = _instances[item / _blocks], block = item % _blocks;
        int i0 = block / _groups * Blocking.ProductRows, l0 = block % _groups * Blocking.LaneGroup * Workspace.Tile;
        State.Kernels.Decode(W, s, i0, Math.Min(i0 + Blocking.ProductRows, W.N), l0,
            Math.Min(l0 + Blocking.LaneGroup * Workspace.Tile, Workspace.RoundUp(_rows, Workspace.Tile)), W.Scratch[thread]);
    }
}
