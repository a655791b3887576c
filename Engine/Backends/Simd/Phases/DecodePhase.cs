using ToyModels.Backends.Simd.Loops;

namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// z^T = W_out h + b, the one dense product: an item per block of at most <see cref="Blocking.ProductRows"/> features
/// (<see cref="Blocking.Even"/>) and group of panels (<see cref="Blocking.LaneGroups"/>). An instance that decodes only
/// its kept samples (<see cref="EmptySamples"/>) has an item per block of features over all its kept lanes, which then
/// spreads those rows of z^T back to every sample.
/// </summary>
internal sealed class DecodePhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    private int _rows, _groups, _blocks;
    // Where each instance's items start (an instance's items: its blocks of features, times its groups of panels unless it keeps samples).
    private readonly int[] _firstItem = new int[state.W.Instances + 1];

    public void Run(IItemRunner runner, InstanceSet instances, int rows)
    {
        _blocks = Blocking.Count(W.N, Blocking.ProductRows);
        (_instances, _rows, _groups) = (instances, rows, Blocking.LaneGroups(StepState.Panels(rows), _blocks, runner.Threads));
        for (int i = 0; i < instances.Count; i++)
            _firstItem[i + 1] = _firstItem[i] + _blocks * (W.Kept[instances[i]] > 0 ? 1 : _groups);
        runner.Run(this, _firstItem[instances.Count]);
    }

    protected override void RunItem(int item, int thread)
    {
        int i = Array.BinarySearch(_firstItem, 0, _instances.Count + 1, item);
        if (i < 0) i = ~i - 1; // every instance has items, so the starts ascend strictly
        int s = _instances[i], local = item - _firstItem[i], kept = W.Kept[s];
        int groups = kept > 0 ? 1 : _groups, group = Blocking.LaneGroup * Workspace.Tile;
        var (i0, i1) = Blocking.Share(local / groups, _blocks, W.N, DenseProduct.TileRows);
        // One group of panels, or (kept samples) every group of the kept lanes.
        var (p0, p1) = Blocking.Share(local % groups, groups, StepState.Panels(_rows), 1);
        int from = kept > 0 ? 0 : p0 * Workspace.Tile, to = kept > 0 ? Workspace.RoundUp(kept, Workspace.Tile) : p1 * Workspace.Tile;
        for (int l0 = from; l0 < to; l0 += group)
            State.Kernels.Decode(W, s, i0, i1, l0, Math.Min(l0 + group, to), W.Scratch[thread]);
        if (kept > 0) EmptySamples.Spread(W, s, i0, i1, _rows, State.Gathers);
    }
}
