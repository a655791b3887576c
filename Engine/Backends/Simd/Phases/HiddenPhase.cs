using ToyModels.Backends.Simd.Loops;

namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// g_h after the loss, for instances that did not fuse it: per instance sparse (an item per panel) or dense (an
/// item per block of at most <see cref="Blocking.ProductRows"/> hidden units (<see cref="Blocking.Even"/>) and group of
/// panels (<see cref="Blocking.LaneGroups"/>), into g_h^T, transposed after by <see cref="TransposeHiddenPhase"/>), as its paths say.
/// </summary>
internal sealed class HiddenPhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    /// <summary>The first item of each instance of the set, and one past the last.</summary>
    private readonly int[] _start = new int[state.W.Instances + 1];
    private int _groups;

    public void Run(IItemRunner runner, InstanceSet instances)
    {
        _instances = instances;
        int blocks = Blocking.Count(W.M, Blocking.ProductRows);
        _groups = Blocking.LaneGroups(W.Panels, blocks, runner.Threads);
        int dense = blocks * _groups;
        _start[0] = 0;
        for (int i = 0; i < instances.Count; i++)
            _start[i + 1] = _start[i] + (State.Records[instances[i]].Paths.Hidden == HiddenGradient.Dense ? dense : W.Panels);
        runner.Run(this, _start[instances.Count]);
    }

    protected override void RunItem(int item, int thread)
    {
        int i = 0;
        while (item >= _start[i + 1]) i++;
        int s = _instances[i], block = item - _start[i];
        if (State.Records[s].Paths.Hidden != HiddenGradient.Dense)
        {
            State.Kernels.HiddenGradientSparse(W, s, block, W.Scratch[thread]);
            return;
        }
        int blocks = Blocking.Count(W.M, Blocking.ProductRows), rows = block / _groups, group = block % _groups;
        State.Kernels.HiddenGradientDense(W, s, Blocking.Even(rows, blocks, W.M, DenseProduct.TileRows), Blocking.Even(rows + 1, blocks, W.M, DenseProduct.TileRows),
            Blocking.Even(group, _groups, W.Panels, 1) * Workspace.Tile, Blocking.Even(group + 1, _groups, W.Panels, 1) * Workspace.Tile, W.Scratch[thread]);
    }
}
