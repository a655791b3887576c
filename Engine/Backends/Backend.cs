using ToyModels.Model;

namespace ToyModels.Backends;

/// <summary>
/// The checks every backend shares: public methods validate their arguments and then call the
/// backend's <c>...Core</c> method, so each backend holds only its own computation.
/// </summary>
internal abstract class Backend : IBackend
{
    private bool _disposed;

    // What a fused Step may leave behind differs by backend (the SIMD backend keeps x, h and z but no gradients;
    // instance lanes keep gradients but no activations), so after a Step every backend refuses all but the row
    // losses, the same way, whether or not it happens to have kept them: x until GenerateBatch or Evaluate, h and
    // z until Forward or Evaluate, the gradients (and an Update that would apply them) until Backward.
    private bool _xKept = true, _activationsKept = true, _gradientsKept = true;

    private static InvalidOperationException NotKept(string what, string until) =>
        new($"{what}: a Step keeps only the row losses; call {until} first");

    protected Backend(AutoencoderConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        Rows = config.Batch;
    }

    public abstract string Name { get; }
    public abstract string Description { get; }
    public virtual int Threads => 1;
    public AutoencoderConfig Config { get; }
    protected ParameterLayout Layout => Config.Layout;
    protected int Instances => Config.InstanceCount;

    /// <summary>Rows of the last operation: the batch, or the count of the last Evaluate.</summary>
    protected int Rows { get; private set; }

    /// <summary>Floats that <see cref="Read"/> of this tensor writes now.</summary>
    public long ElementCount(TensorKind tensor) => tensor switch
    {
        TensorKind.X or TensorKind.Z => (long)Instances * Rows * Config.N,
        TensorKind.H => (long)Instances * Rows * Config.M,
        TensorKind.Gradients => Layout.Total,
        TensorKind.RowLoss => (long)Instances * Rows,
        _ => throw new ArgumentOutOfRangeException(nameof(tensor), tensor, "unknown tensor"),
    };

    public long OptimizerStateLength => Config.OptimizerStateLength();

    public void ReadParameters(long start, Span<float> destination)
    {
        ThrowIfDisposed();
        ModelStateExtensions.CheckRange(start, destination.Length, Layout.Total, "parameters");
        if (!destination.IsEmpty) ReadParametersCore(start, destination);
    }

    public void WriteParameters(long start, ReadOnlySpan<float> source)
    {
        ThrowIfDisposed();
        ModelStateExtensions.CheckRange(start, source.Length, Layout.Total, "parameters");
        if (!source.IsEmpty) WriteParametersCore(start, source);
    }

    public void ReadOptimizerState(long start, Span<float> destination)
    {
        ThrowIfDisposed();
        ModelStateExtensions.CheckRange(start, destination.Length, OptimizerStateLength, "optimizer state");
        if (!destination.IsEmpty) ReadOptimizerStateCore(start, destination);
    }

    public void WriteOptimizerState(long start, ReadOnlySpan<float> source)
    {
        ThrowIfDisposed();
        ModelStateExtensions.CheckRange(start, source.Length, OptimizerStateLength, "optimizer state");
        if (!source.IsEmpty) WriteOptimizerStateCore(start, source);
    }

    public void GenerateBatch(long step)
    {
        CheckStep(step);
        Rows = Config.Batch;
        GenerateBatchCore(step);
        _xKept = true;
    }

    public void Forward()
    {
        ThrowIfDisposed();
        ForwardCore();
        _activationsKept = true;
    }
    public void Backward()
    {
        ThrowIfDisposed();
        BackwardCore();
        _gradientsKept = true;
    }

    public void Update(OptimizerScalars scalars)
    {
        CheckScalars(scalars);
        if (!_gradientsKept) throw NotKept("Update applies the gradients of the last Backward", "Backward");
        UpdateCore(scalars);
    }

    public void Step(OptimizerScalars scalars)
    {
        CheckScalars(scalars);
        Rows = Config.Batch;
        _xKept = _activationsKept = _gradientsKept = false;
        StepCore(scalars);
    }

    public void Evaluate(long firstSample, int count, Span<float> rowLoss)
    {
        ThrowIfDisposed();
        if (count < 1 || count > Config.Batch)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"evaluation rows per call are 1 .. batch ({Config.Batch})");
        if (firstSample < 0 || firstSample + count > 1L + uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(firstSample), firstSample, "evaluation samples are numbered 0 .. 2^32 - 1");
        Check(rowLoss.Length, (long)Instances * count, nameof(rowLoss));
        Rows = count;
        EvaluateCore(firstSample, count, rowLoss);
        _xKept = _activationsKept = true;
    }

    public void Read(TensorKind tensor, Span<float> destination)
    {
        ThrowIfDisposed();
        Check(destination.Length, ElementCount(tensor), nameof(destination));
        switch (tensor)
        {
            case TensorKind.X when !_xKept: throw NotKept("x", "GenerateBatch");
            case TensorKind.H or TensorKind.Z when !_activationsKept: throw NotKept(tensor == TensorKind.H ? "h" : "z", "GenerateBatch and Forward");
            case TensorKind.Gradients when !_gradientsKept: throw NotKept("the gradients", "Backward");
        }
        ReadCore(tensor, destination);
    }

    public void ReadFirstNonFiniteStep(Span<long> firstStep)
    {
        ThrowIfDisposed();
        Check(firstStep.Length, Instances, nameof(firstStep));
        ReadFirstNonFiniteStepCore(firstStep);
    }

    /// <summary>A nonempty range inside the parameters (checked). Writing parameters forgets the first non-finite step.</summary>
    protected abstract void ReadParametersCore(long start, Span<float> destination);
    protected abstract void WriteParametersCore(long start, ReadOnlySpan<float> source);
    /// <summary>A nonempty range inside the optimizer state (checked).</summary>
    protected abstract void ReadOptimizerStateCore(long start, Span<float> destination);
    protected abstract void WriteOptimizerStateCore(long start, ReadOnlySpan<float> source);
    protected abstract void GenerateBatchCore(long step);
    protected abstract void ForwardCore();
    protected abstract void BackwardCore();
    protected abstract void UpdateCore(OptimizerScalars scalars);
    protected abstract void EvaluateCore(long firstSample, int count, Span<float> rowLoss);
    protected abstract void ReadCore(TensorKind tensor, Span<float> destination);
    protected abstract void ReadFirstNonFiniteStepCore(Span<long> firstStep);

    /// <summary>One whole step. The default runs the four operations; backends override it to fuse them.</summary>
    protected virtual void StepCore(OptimizerScalars scalars)
    {
        GenerateBatchCore(scalars.Step);
        ForwardCore();
        BackwardCore();
        UpdateCore(scalars);
    }

    private void CheckScalars(OptimizerScalars scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        CheckStep(scalars.Step);
        if (scalars.StepSize.Length != Instances || scalars.Kind != Config.Optimizer.Kind)
            throw new ArgumentException("these optimizer scalars belong to another configuration", nameof(scalars));
    }

    private void CheckStep(long step)
    {
        ThrowIfDisposed();
        if (step < 0 || step >= AutoencoderConfig.MaxSteps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"steps are 0 .. {AutoencoderConfig.MaxSteps - 1}");
    }

    private static void Check(int length, long expected, string name)
    {
        if (length != expected) throw new ArgumentException($"{name} has {length} floats; {expected} expected", name);
    }

    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }
}
