namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// One parallel phase of a step, a type per phase: its Run method takes the phase's arguments, cuts the work
/// into items along independent outputs and runs them (on every thread of the pool, or inline on one); <see cref="RunItem"/> runs one item.
/// </summary>
internal abstract class Phase(StepState state) : IWorkItems
{
    protected readonly StepState State = state;
    protected Workspace W => State.W;

    protected abstract void RunItem(int item, int thread);

    void IWorkItems.Run(int item, int thread) => RunItem(item, thread);
}
