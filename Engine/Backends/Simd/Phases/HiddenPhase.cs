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
    // The dense items: blocks of rows (hidden units) times groups of panels.
    private int _blocks, _groups;

    public void Run(IItemRunner runner, InstanceSet instances)
    {
        _instances = instances;
        _blocks = Blocking.Count(W.M, Blocking.ProductRows);
        _groups = Blocking.LaneGroups(W.Panels, _blocks, runner.Threads);
        int dense = _blocks * _groups;
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
        var (j0, j1) = Blocking.Share(block / _groups, _blocks, W.M, DenseProduct.TileRows);
        var (p0, p1) = Blocking.Share(block % _groups, _groups, W.Panels, 1);
        State.Kernels.HiddenGradientDense(W, s, j0, j1, p0 * Workspace.Tile, p1 * Workspace.Tile, W.Scratch[thread]);
    }
}
