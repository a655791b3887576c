namespace ToyModels.Backends.Simd.Phases;

/// <summary>x of the first rows of each instance: sparse rows and the dense x^T panels, an item per panel of 64 samples.</summary>
internal sealed class GeneratePhase(StepState state) : Phase(state)
{
    private InstanceSet _instances = null!;
    private int _rows, _panels;
    private uint _step;
    private long _firstSample;
    private bool _evaluation;

    /// <param name="runner">Runs the items (instances.Count x panels of 64 rows) on the pool's threads or inline on one thread.</param>
    /// <param name="instances">The instances whose x is drawn, each from its own seed and p.</param>
    /// <param name="rows">Samples per instance, 1 .. batch (an evaluation call may ask for fewer): rows 0 .. rows - 1 of x are written.</param>
    /// <param name="step">The training step (training rows), or ignored for evaluation rows.</param>
    /// <param name="firstSample">The first evaluation sample (evaluation rows), or ignored.</param>
    /// <param name="evaluation">true: row b is evaluation sample firstSample + b; false: row b is sample b of training step <paramref name="step"/>.</param>
    public void Run(IItemRunner runner, InstanceSet instances, int rows, long step, long firstSample, bool evaluation)
    {
        (_instances, _rows, _panels, _step, _firstSample, _evaluation) = (instances, rows, StepState.Panels(rows), (uint)step, firstSample, evaluation);
        runner.Run(this, instances.Count * _panels);
    }

    protected override void RunItem(int item, int thread) =>
        State.Kernels.Generate(W, _instances[item / _panels], item % _panels, _rows, _step, _firstSample, _evaluation);
}
