using ToyModels.Model;

namespace ToyModels.Backends;

/// <summary>Buffers a backend exposes for inspection, in the canonical host layout.</summary>
public enum TensorKind
{
    /// <summary>x: [instances][rows][n], the last generated batch (or evaluation rows).</summary>
    X,
    /// <summary>h = W_in x: [instances][rows][m].</summary>
    H,
    /// <summary>z = W_out h + b (before the ReLU): [instances][rows][n].</summary>
    Z,
    /// <summary>Gradients of the last <see cref="IBackend.Backward"/>, in <see cref="ParameterLayout"/> (zeros before any).</summary>
    Gradients,
    /// <summary>Per-row loss sums R32_i(I_i (y_i - x_i)^2) of the last Backward, Step or Evaluate: [instances][rows].</summary>
    RowLoss,
}

/// <summary>
/// A place where training happens: it owns the parameters, optimizer state and activations of one
/// run (all instances) and performs whole operations on them, so a GPU backend keeps everything on
/// its device and the host reads back only what it asks for.
/// </summary>
/// <remarks>
/// Every backend produces the bits of the reference backend (numerics.md rule 7) in every buffer after
/// every operation. Parameters and optimizer state cross in pieces (<see cref="IModelState"/>); whole-buffer
/// reads and writes of small models are the extensions of <see cref="ModelStateExtensions"/>. A step is <see cref="GenerateBatch"/>, <see cref="Forward"/>, <see cref="Backward"/>,
/// <see cref="Update"/>; <see cref="Step"/> does all four and may fuse them (the gradient buffer
/// may then not be materialised).
/// </remarks>
public interface IBackend : IModelState, IDisposable
{
    /// <summary>Short name: reference, simd, opencl, cuda.</summary>
    string Name { get; }
    /// <summary>What it runs on, for people: instruction set and threads, or the device.</summary>
    string Description { get; }
    /// <summary>Threads used on the host (1 for device backends).</summary>
    int Threads { get; }

    /// <summary>x for every instance: training samples b = 0 .. B-1 of step <paramref name="step"/>.</summary>
    void GenerateBatch(long step);
    /// <summary>h and z from x and the parameters.</summary>
    void Forward();
    /// <summary>Row losses, g_z and every gradient.</summary>
    void Backward();
    /// <summary>The optimizer applied to the gradients of the last Backward (<see cref="InvalidOperationException"/> after a Step).</summary>
    void Update(OptimizerScalars scalars);
    /// <summary>One whole training step: GenerateBatch(scalars.Step), Forward, Backward, Update.</summary>
    void Step(OptimizerScalars scalars);

    /// <summary>
    /// Evaluation rows firstSample .. firstSample + count - 1 (count at most the batch) of the
    /// evaluation stream: generates them, runs Forward and writes their row losses [instances][count].
    /// </summary>
    void Evaluate(long firstSample, int count, Span<float> rowLoss);

    /// <summary>
    /// Copies a buffer out (see <see cref="TensorKind"/> for shapes; rows = the last batch or evaluation count).
    /// A <see cref="Step"/> may fuse its operations and keep only the row losses, so after a Step every backend
    /// refuses x (until GenerateBatch or Evaluate), h and z (until Forward or Evaluate) and the gradients (until
    /// Backward) with <see cref="InvalidOperationException"/>.
    /// </summary>
    void Read(TensorKind tensor, Span<float> destination);

    /// <summary>
    /// Per instance, the first step whose update left a non-finite parameter, or -1 while all are finite.
    /// </summary>
    void ReadFirstNonFiniteStep(Span<long> firstStep);
}
