using ToyModels.Backends.Simd.Kernels;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;
using System.Runtime.Intrinsics;

namespace ToyModels.Backends.Simd;

/// <summary>
/// The fast CPU backend: the reference's bits in every buffer after every operation, from vector
/// kernels (AVX-512, AVX2, SSE with FMA, or scalar, chosen at run time) on a small pool of threads.
/// </summary>
/// <remarks>
/// A step is six parallel phases, each split over independent outputs (samples, features,
/// instances), never inside a reduction: data (Philox over 8 lanes), encoder (sparse over x), decoder
/// (the one dense product, blocked), loss and g_z, g_h (sparse over g_z), and per feature the gradients
/// of W_out, W_in and b, each handed to the optimizer as soon as it is finished, so a fused
/// <see cref="IBackend.Step"/> never materialises the gradient buffer.
/// </remarks>
public sealed unsafe class SimdBackend : Backend, IWorkItems
{
    private enum Phase { Generate, Encode, Decode, Loss, HiddenGradient, Gradients, Update }

    private readonly InstructionSet _instructionSet;
    private readonly Workspace _w;
    private readonly IStepKernels _kernels;
    private readonly WorkerPool _pool;
    private readonly long[] _firstNonFinite;
    private readonly bool[] _nonFinite;
    private readonly int _featureBlocks;

    // The phase being run and its arguments.
    private Phase _phase;
    private int _rows;
    private uint _step;
    private long _firstSample;
    private bool _evaluation;
    private bool _withGradients;
    private OptimizerStep? _scalars;

    // What the buffers hold.
    private bool _trainingBatch;      // x is the training batch of the last GenerateBatch (not evaluation rows)
    private bool _trainingForward;    // h and z belong to that batch
    private bool _gradientsCurrent = true; // the gradient buffer holds the last Backward's gradients (zeros before any)

    /// <param name="threads">Host threads; 0 for all cores.</param>
    public SimdBackend(AutoencoderConfig config, int threads = 0) : this(config, threads, InstructionSets.Best) { }

    /// <param name="instructionSet">The widest vectors to use; narrower than <see cref="InstructionSets.Best"/> only for tests and benchmarks.</param>
    internal SimdBackend(AutoencoderConfig config, int threads, InstructionSet instructionSet) : base(config)
    {
        if (threads < 0) throw new ConfigException("threads", threads, "0 (all cores) or a positive integer");
        if (instructionSet > InstructionSets.Best)
            throw new ConfigException("instruction set", InstructionSets.Name(instructionSet), $"at most {InstructionSets.Name(InstructionSets.Best)} on this machine");
        _instructionSet = instructionSet;
        int count = threads == 0 ? Environment.ProcessorCount : threads;
        _w = new Workspace(config, new InstanceConstants(config), count);
        _kernels = instructionSet switch
        {
            InstructionSet.Avx512 => new StepKernels<Vector512<float>, Vector512<ulong>, Vector512Lanes>(),
            InstructionSet.Avx2 => new StepKernels<Vector256<float>, Vector256<ulong>, Vector256Lanes>(),
            InstructionSet.Sse => new StepKernels<Vector128<float>, Vector128<ulong>, Vector128Lanes>(),
            _ => new StepKernels<float, ulong, ScalarLanes>(),
        };
        _pool = new WorkerPool(count);
        _firstNonFinite = new long[Instances];
        Array.Fill(_firstNonFinite, -1L);
        _nonFinite = new bool[Instances];
        _featureBlocks = Blocking.Count(config.N, Blocking.Features);
    }

    public override string Name => "simd";
    public override string Description => $"{InstructionSets.Name(_instructionSet)}, {_pool.Threads} thread{(_pool.Threads == 1 ? "" : "s")}";
    public override int Threads => _pool.Threads;
    internal InstructionSet InstructionSet => _instructionSet;

    protected override void SetParametersCore(ReadOnlySpan<float> parameters)
    {
        CanonicalLayout.Import(_w, Layout, parameters, _w.Parameters);
        Array.Fill(_firstNonFinite, -1L);
    }

    protected override void GetParametersCore(Span<float> parameters) => CanonicalLayout.Export(_w, Layout, _w.Parameters, parameters);

    protected override void SetOptimizerStateCore(ReadOnlySpan<float> state)
    {
        int total = Layout.Total;
        if (_w.First != null) CanonicalLayout.Import(_w, Layout, state[..total], _w.First);
        if (_w.Second != null) CanonicalLayout.Import(_w, Layout, state.Slice(total, total), _w.Second);
    }

    protected override void GetOptimizerStateCore(Span<float> state)
    {
        int total = Layout.Total;
        if (_w.First != null) CanonicalLayout.Export(_w, Layout, _w.First, state[..total]);
        if (_w.Second != null) CanonicalLayout.Export(_w, Layout, _w.Second, state.Slice(total, total));
    }

    protected override void GenerateBatchCore(long step)
    {
        Generate(step, 0, Config.Batch, evaluation: false);
        _trainingForward = false;
    }

    protected override void ForwardCore()
    {
        Forward(Rows);
        _trainingForward = _trainingBatch;
    }

    protected override void BackwardCore()
    {
        if (!_trainingForward)
            throw new InvalidOperationException("Backward needs GenerateBatch and Forward of a training batch first (an Evaluate in between replaces x, h and z)");
        _w.EnsureGradients();
        Backward(fused: null);
        _gradientsCurrent = true;
    }

    protected override void UpdateCore(OptimizerStep scalars)
    {
        if (!_gradientsCurrent)
            throw new InvalidOperationException("Update applies the gradients of the last Backward; a Step since then applied its own without keeping them");
        _w.EnsureGradients();
        _scalars = scalars;
        RunPhase(Phase.Update, Instances * _featureBlocks);
        RecordNonFinite(scalars.Step);
    }

    protected override void StepCore(OptimizerStep scalars)
    {
        Generate(scalars.Step, 0, Config.Batch, evaluation: false);
        Forward(Config.Batch);
        _trainingForward = true;
        Backward(scalars);
        _gradientsCurrent = false;
        RecordNonFinite(scalars.Step);
    }

    protected override void EvaluateCore(long firstSample, int count, Span<float> rowLoss)
    {
        Generate(0, firstSample, count, evaluation: true);
        Forward(count);
        _trainingForward = false;
        Loss(count, gradients: false);
        for (int s = 0; s < Instances; s++)
            new ReadOnlySpan<float>(_w.RowLoss + (nint)s * _w.Ldb, count).CopyTo(rowLoss.Slice(s * count, count));
    }

    private void Generate(long step, long firstSample, int rows, bool evaluation)
    {
        _step = (uint)step;
        _firstSample = firstSample;
        _evaluation = evaluation;
        _rows = rows;
        RunPhase(Phase.Generate, Instances * Blocking.Count(rows, Blocking.Rows));
        _trainingBatch = !evaluation;
    }

    private void Forward(int rows)
    {
        _rows = rows;
        RunPhase(Phase.Encode, Instances * Blocking.Count(rows, Blocking.Rows));
        RunPhase(Phase.Decode, Instances * _featureBlocks);
    }

    private void Loss(int rows, bool gradients)
    {
        _rows = rows;
        _withGradients = gradients;
        RunPhase(Phase.Loss, Instances * Blocking.Count(Workspace.RoundUp(rows), LossLanes.BlockLanes));
    }

    /// <summary>Loss and g_z, then g_h and x's columns, then the per-feature gradients (into the optimizer when fused).</summary>
    private void Backward(OptimizerStep? fused)
    {
        Loss(Config.Batch, gradients: true);
        _rows = Config.Batch;
        RunPhase(Phase.HiddenGradient, Instances + Instances * Blocking.Count(Config.Batch, Blocking.Rows));
        _scalars = fused;
        RunPhase(Phase.Gradients, Instances * _featureBlocks);
    }

    private void RunPhase(Phase phase, int items)
    {
        _phase = phase;
        _pool.Run(this, items);
    }

    void IWorkItems.Run(int item, int thread)
    {
        switch (_phase)
        {
            case Phase.Generate:
            {
                var (s, b0, b1) = RowItem(item);
                _kernels.Generate(_w, s, b0, b1, _step, _firstSample, _evaluation);
                break;
            }
            case Phase.Encode:
            {
                var (s, b0, b1) = RowItem(item);
                _kernels.Encode(_w, s, b0, b1, _rows);
                break;
            }
            case Phase.Decode:
            {
                var (s, i0, i1) = FeatureItem(item);
                _kernels.Decode(_w, s, i0, i1, Workspace.RoundUp(_rows));
                break;
            }
            case Phase.Loss:
            {
                int lanes = Workspace.RoundUp(_rows), blocks = Blocking.Count(lanes, LossLanes.BlockLanes);
                int s = item / blocks, l0 = item % blocks * LossLanes.BlockLanes;
                _kernels.Loss(_w, s, l0, Math.Min(LossLanes.BlockLanes, lanes - l0), _rows, _withGradients);
                break;
            }
            case Phase.HiddenGradient:
            {
                if (item < Instances)
                {
                    BuildColumns(item);
                    break;
                }
                var (s, b0, b1) = RowItem(item - Instances);
                _kernels.HiddenGradient(_w, s, b0, b1);
                break;
            }
            case Phase.Gradients:
            {
                var (s, i0, i1) = FeatureItem(item);
                if (_kernels.Gradients(_w, s, i0, i1, _w.Scratch[thread], _scalars)) _nonFinite[s] = true;
                break;
            }
            case Phase.Update:
            {
                var (s, i0, i1) = FeatureItem(item);
                if (_kernels.Update(_w, s, i0, i1, _scalars!)) _nonFinite[s] = true;
                break;
            }
        }
    }

    private (int Instance, int First, int End) RowItem(int item)
    {
        int blocks = Blocking.Count(_rows, Blocking.Rows);
        int s = item / blocks, b0 = item % blocks * Blocking.Rows;
        return (s, b0, Math.Min(b0 + Blocking.Rows, _rows));
    }

    private (int Instance, int First, int End) FeatureItem(int item)
    {
        int s = item / _featureBlocks, i0 = item % _featureBlocks * Blocking.Features;
        return (s, i0, Math.Min(i0 + Blocking.Features, Config.N));
    }

    /// <summary>x of instance s as columns: per feature, its nonzero (sample, value) in ascending sample order (a counting sort).</summary>
    private void BuildColumns(int s)
    {
        int n = Config.N, batch = Config.Batch;
        int* start = _w.XColumnStart + (nint)s * (n + 1);
        new Span<int>(start, n + 1).Clear();
        for (int b = 0; b < batch; b++)
        {
            nint row = _w.SparseRow(s, b);
            int count = _w.XCount[(nint)s * batch + b];
            for (int e = 0; e < count; e++) start[_w.XIndex[row + e] + 1]++;
        }
        for (int i = 0; i < n; i++) start[i + 1] += start[i];
        nint columns = _w.SparseRow(s, 0);
        for (int b = 0; b < batch; b++)
        {
            nint row = _w.SparseRow(s, b);
            int count = _w.XCount[(nint)s * batch + b];
            for (int e = 0; e < count; e++)
            {
                int i = _w.XIndex[row + e];
                int at = start[i]++;
                _w.XColumnRow[columns + at] = b;
                _w.XColumnValue[columns + at] = _w.XValue[row + e];
            }
        }
        // The fill advanced each start to the next feature's; shift back.
        for (int i = n; i > 0; i--) start[i] = start[i - 1];
        start[0] = 0;
    }

    private void RecordNonFinite(long step)
    {
        for (int s = 0; s < Instances; s++)
        {
            if (_nonFinite[s] && _firstNonFinite[s] < 0) _firstNonFinite[s] = step;
            _nonFinite[s] = false;
        }
    }

    protected override void ReadCore(TensorKind tensor, Span<float> destination)
    {
        int rows = Rows, n = Config.N, m = Config.M;
        switch (tensor)
        {
            case TensorKind.X:
                destination.Clear();
                for (int s = 0; s < Instances; s++)
                    for (int b = 0; b < rows; b++)
                    {
                        nint row = _w.SparseRow(s, b);
                        var x = destination.Slice((s * rows + b) * n, n);
                        for (int e = 0; e < _w.XCount[(nint)s * Config.Batch + b]; e++) x[_w.XIndex[row + e]] = _w.XValue[row + e];
                    }
                break;
            case TensorKind.H:
                for (int s = 0; s < Instances; s++)
                    for (int b = 0; b < rows; b++)
                        new ReadOnlySpan<float>(_w.H + ((nint)s * Config.Batch + b) * _w.Ldm, m).CopyTo(destination.Slice((s * rows + b) * m, m));
                break;
            case TensorKind.Z:
                for (int s = 0; s < Instances; s++)
                    for (int i = 0; i < n; i++)
                    {
                        float* z = _w.ZT + ((nint)s * n + i) * _w.Ldb;
                        for (int b = 0; b < rows; b++) destination[(s * rows + b) * n + i] = z[b];
                    }
                break;
            case TensorKind.Gradients:
                if (!_gradientsCurrent)
                    throw new InvalidOperationException("a Step applies its gradients as they are computed and keeps none; call Backward to read gradients");
                if (_w.Gradients == null) destination.Clear();
                else CanonicalLayout.Export(_w, Layout, _w.Gradients, destination);
                break;
            case TensorKind.RowLoss:
                for (int s = 0; s < Instances; s++)
                    new ReadOnlySpan<float>(_w.RowLoss + (nint)s * _w.Ldb, rows).CopyTo(destination.Slice(s * rows, rows));
                break;
        }
    }

    protected override void ReadFirstNonFiniteStepCore(Span<long> firstStep) => _firstNonFinite.CopyTo(firstStep);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _pool.Dispose();
        _w.Dispose();
    }
}
