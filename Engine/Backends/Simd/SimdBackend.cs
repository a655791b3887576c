using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ToyModels.Backends.Simd.Kernels;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Phases;
using ToyModels.Model;

namespace ToyModels.Backends.Simd;

/// <summary>
/// The fast CPU backend: the reference's bits in every buffer after every operation, from vector
/// kernels (AVX-512, AVX2, SSE with FMA, or scalar, chosen at run time) on a small pool of threads.
/// </summary>
/// <remarks>
/// A step is a few parallel phases, each split over independent outputs (samples, features,
/// instances), never inside a reduction: data (Philox over 8 lanes), encoder (sparse over x), decoder
/// (the one dense product, blocked), loss and g_z, g_h, and per feature the gradients of W_out, W_in and
/// b, each handed to the optimizer as soon as it is finished, so a fused <see cref="IBackend.Step"/>
/// never materialises the gradient buffer. g_h and gW_out run sparse over the nonzero g_z, or as dense
/// products when g_z is dense enough and that provably gives the same bits (<see cref="ExactDense"/>).
/// While g_z stays sparse, the loss and the sparse g_h walk are one phase, panel by panel (see <see cref="Backward"/>).
/// </remarks>
public sealed unsafe class SimdBackend : Backend
{
    /// <summary>
    /// The g_z density from which g_h and gW_out run as dense products. Measured on 2 Zen 3 cores (AVX2): the
    /// sparse walks win up to a density of about 0.6 (n 4096, m 512, B 1024 at density 0.43: g_h 46 ms sparse
    /// against 54 dense; n 512, m 128, p 0.5 at density 0.94: 4.1 ms sparse against 2.8 dense).
    /// </summary>
    internal const double DefaultDenseDensity = 0.6;

    /// <summary>The density threshold in use: tests set it to 0 or above 1 to hold both paths to the reference.</summary>
    internal double DenseDensity { get; set; } = DefaultDenseDensity;

    /// <summary>
    /// Instances a training step or evaluation takes through all its phases at a time (<see cref="InstanceBlocks"/>):
    /// by default as many as fit the last-level cache; tests set it to hold every blocking to the reference.
    /// </summary>
    internal int InstanceBlock
    {
        get => _instanceBlock;
        set => _instanceBlock = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least one instance per block");
    }

    private readonly InstructionSet _instructionSet;
    private readonly Workspace _w;
    private readonly StepState _state;
    private readonly WorkerPool _pool;
    private readonly long[] _firstNonFinite;
    private int _instanceBlock;

    private readonly GeneratePhase _generate;
    private readonly EncodePhase _encode;
    private readonly DecodePhase _decode;
    private readonly LossPhase _loss;
    private readonly LossHiddenPhase _lossHidden;
    private readonly HiddenPhase _hidden;
    private readonly TransposeHiddenPhase _transposeHidden;
    private readonly GradientsPhase _gradients;
    private readonly UpdatePhase _update;

    // Every instance; the block in progress; and those of it that take the fused walk, the unfused one, and dense g_h.
    private readonly InstanceSet _all, _block, _fused, _unfused, _denseHidden;

    // What the buffers hold.
    private bool _trainingBatch;      // x is the training batch of the last GenerateBatch (not evaluation rows)
    private bool _trainingForward;    // h and z belong to that batch
    private bool _activationsKept = true; // x, h and z of every instance are in its own room (not after a step taken in blocks)
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
        IStepKernels kernels = instructionSet switch
        {
            InstructionSet.Avx512 => new StepKernels<Vector512<float>, Vector512<ulong>, Vector512Lanes>(),
            InstructionSet.Avx2 => new StepKernels<Vector256<float>, Vector256<ulong>, Vector256Lanes>(),
            InstructionSet.Sse => new StepKernels<Vector128<float>, Vector128<ulong>, Vector128Lanes>(),
            _ => new StepKernels<float, ulong, ScalarLanes>(),
        };
        _state = new StepState(_w, kernels);
        _pool = new WorkerPool(count);
        int k = Instances;
        _firstNonFinite = new long[k];
        Array.Fill(_firstNonFinite, -1L);
        _instanceBlock = InstanceBlocks.Size(config.EstimatedBytes / k, InstanceBlocks.LastLevelCache(), k);
        (_generate, _encode, _decode, _loss, _lossHidden) = (new(_state), new(_state), new(_state), new(_state), new(_state));
        (_hidden, _transposeHidden, _gradients, _update) = (new(_state), new(_state), new(_state), new(_state));
        (_all, _block, _fused, _unfused, _denseHidden) = (new(k), new(k), new(k), new(k), new(k));
        _all.SetRange(0, k);
    }

    /// <summary>The paths instance s's last Backward took (for tests).</summary>
    internal BackwardPaths PathsOf(int s) => _state.Records[s].Paths;

    public override string Name => "simd";
    public override string Description => $"{InstructionSets.Name(_instructionSet)}, {_pool.Threads} thread{(_pool.Threads == 1 ? "" : "s")}";
    public override int Threads => _pool.Threads;
    internal InstructionSet InstructionSet => _instructionSet;

    protected override void SetParametersCore(ReadOnlySpan<float> parameters)
    {
        CanonicalLayout.Import(_w, Layout, parameters, _w.Parameters);
        Array.Fill(_firstNonFinite, -1L);
        for (int s = 0; s < Instances; s++) ScanDecoder(s);
    }

    /// <summary>The smallest nonzero |W_out| and whether W_out is finite, which the exact dense paths need (updates keep them current).</summary>
    private void ScanDecoder(int s)
    {
        float* decoder = _w.Block(_w.Parameters, s) + (Config.Tied ? _w.EncoderOffset : _w.DecoderOffset);
        float smallest = float.PositiveInfinity;
        bool nonFinite = false;
        for (int i = 0; i < Config.N; i++)
            for (int j = 0; j < Config.M; j++)
            {
                float v = decoder[(nint)i * _w.Ldm + j];
                nonFinite |= !float.IsFinite(v);
                if (v != 0f && float.IsFinite(v)) smallest = MathF.Min(smallest, MathF.Abs(v));
            }
        _state.Records[s].DecoderSmallest = smallest;
        _state.Records[s].DecoderNonFinite = nonFinite;
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

    // The separate operations run each phase over every instance; a whole step and an evaluation go block by block.

    protected override void GenerateBatchCore(long step)
    {
        _generate.Run(_pool, _all, Config.Batch, step, 0, evaluation: false);
        _trainingBatch = _activationsKept = true;
        _trainingForward = false;
    }

    protected override void ForwardCore()
    {
        if (!_activationsKept)
            throw new InvalidOperationException("Forward needs GenerateBatch or Evaluate first: a Step taken in blocks of instances keeps no x");
        Forward(_all, Rows);
        _trainingForward = _trainingBatch;
    }

    protected override void BackwardCore()
    {
        if (!_trainingForward)
            throw new InvalidOperationException("Backward needs GenerateBatch and Forward of a training batch first (an Evaluate in between replaces x, h and z)");
        _w.EnsureGradients();
        Backward(_all, fused: null);
        _gradientsCurrent = true;
    }

    protected override void UpdateCore(OptimizerStep scalars)
    {
        if (!_gradientsCurrent)
            throw new InvalidOperationException("Update applies the gradients of the last Backward; a Step since then applied its own without keeping them");
        _w.EnsureGradients();
        _update.Run(_pool, _all, scalars);
        RecordUpdate(_all, scalars.Step);
    }

    /// <summary>
    /// Block by block of instances, each through every phase; when the pack takes more than one block, each block's
    /// activations take the room of the first instances, so they stay in cache from block to block and a pack
    /// touches per instance little more than its parameters and optimizer state (x, h and z are then not kept).
    /// </summary>
    protected override void StepCore(OptimizerStep scalars)
    {
        bool blocks = _instanceBlock < Instances;
        for (int first = 0; first < Instances; first += _instanceBlock)
        {
            _block.SetRange(first, Math.Min(first + _instanceBlock, Instances));
            _w.BlockFirst = blocks ? first : 0;
            _generate.Run(_pool, _block, Config.Batch, scalars.Step, 0, evaluation: false);
            Forward(_block, Config.Batch);
            Backward(_block, scalars);
        }
        _w.BlockFirst = 0;
        _activationsKept = !blocks;
        _trainingBatch = _trainingForward = !blocks;
        _gradientsCurrent = false;
    }

    protected override void EvaluateCore(long firstSample, int count, Span<float> rowLoss)
    {
        for (int first = 0; first < Instances; first += _instanceBlock)
        {
            _block.SetRange(first, Math.Min(first + _instanceBlock, Instances));
            _generate.Run(_pool, _block, count, 0, firstSample, evaluation: true);
            Forward(_block, count);
            _loss.Run(_pool, _block, count, gradients: false);
        }
        _trainingBatch = _trainingForward = false;
        _activationsKept = true;
        for (int s = 0; s < Instances; s++)
            new ReadOnlySpan<float>(_w.RowLoss + (nint)s * _w.Ldb, count).CopyTo(rowLoss.Slice(s * count, count));
    }

    private void Forward(InstanceSet instances, int rows)
    {
        _encode.Run(_pool, instances, rows);
        _decode.Run(_pool, instances, rows);
    }

    /// <summary>The decoder product alone (z from the h of the last Forward), for benchmarks.</summary>
    internal void Decode() => _decode.Run(_pool, _all, Rows);

    /// <summary>
    /// Loss and g_z; g_h (and x's columns); then the per-feature gradients (into the optimizer when fused). Per
    /// instance, when its last g_z was sparse the loss and the sparse g_h walk run together panel by panel (g_z
    /// is listed while in cache); otherwise the loss runs first and this g_z's density chooses g_h's path
    /// (<see cref="BackwardPlan"/>). Every path gives the same bits: the plan only chooses how fast.
    /// </summary>
    private void Backward(InstanceSet instances, OptimizerStep? fused)
    {
        var records = _state.Records;
        _fused.Clear();
        _unfused.Clear();
        _denseHidden.Clear();
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            (BackwardPlan.Fuses(records[s].LastDensity, DenseDensity) ? _fused : _unfused).Add(s);
        }
        _lossHidden.Run(_pool, _fused);
        _loss.Run(_pool, _unfused, Config.Batch, gradients: true);
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            ref var r = ref records[s];
            bool together = BackwardPlan.Fuses(r.LastDensity, DenseDensity); // as chosen above, before LastDensity moves on
            r.LastDensity = BackwardPlan.Density(r.GzNonzero, Config.N, Config.Batch);
            r.Paths = together ? BackwardPaths.Fused
                : BackwardPlan.Unfused(r.LastDensity, DenseDensity, r.GzSmallest, r.DecoderSmallest, r.DecoderNonFinite, r.HSmallest, r.HNonFinite);
            if (r.Paths.Hidden == HiddenGradient.Dense) _denseHidden.Add(s);
        }
        _hidden.Run(_pool, _unfused);
        _transposeHidden.Run(_pool, _denseHidden);
        _gradients.Run(_pool, instances, fused);
        if (fused is not null) RecordUpdate(instances, fused.Step);
    }

    /// <summary>After an update: the first non-finite step per instance, and W_out's statistics for the next step's choice of paths.</summary>
    private void RecordUpdate(InstanceSet instances, long step)
    {
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            bool nonFinite = false;
            float smallest = float.PositiveInfinity;
            for (int block = 0; block < _state.FeatureBlocks; block++)
            {
                var result = _state.BlockResults[s * _state.FeatureBlocks + block];
                nonFinite |= result.NonFinite;
                smallest = MathF.Min(smallest, result.DecoderSmallest);
            }
            if (nonFinite && _firstNonFinite[s] < 0) _firstNonFinite[s] = step;
            _state.Records[s].DecoderNonFinite = nonFinite; // any parameter: conservative for W_out
            _state.Records[s].DecoderSmallest = smallest;
        }
    }

    protected override void ReadCore(TensorKind tensor, Span<float> destination)
    {
        int rows = Rows, n = Config.N, m = Config.M;
        if (!_activationsKept && tensor is TensorKind.X or TensorKind.H or TensorKind.Z)
            throw new InvalidOperationException($"{tensor} is not kept by a Step of a pack taken in blocks of instances; run GenerateBatch and Forward to read it");
        switch (tensor)
        {
            case TensorKind.X:
                destination.Clear();
                for (int s = 0; s < Instances; s++)
                    for (int b = 0; b < rows; b++)
                    {
                        SparseEntry* row = _w.XRows + _w.SparseRow(s, b);
                        var x = destination.Slice((s * rows + b) * n, n);
                        for (int e = 0; e < _w.XCountOf(s)[b]; e++) x[row[e].Index] = row[e].Value;
                    }
                break;
            case TensorKind.H:
                for (int s = 0; s < Instances; s++)
                    for (int b = 0; b < rows; b++)
                        for (int j = 0; j < m; j++)
                            destination[(s * rows + b) * m + j] = _w.Tiles(_w.H, s)[(j >> 6) * _w.HiddenTile + (nint)b * Workspace.Tile + (j & 63)];
                break;
            case TensorKind.Z:
                for (int s = 0; s < Instances; s++)
                    for (int b = 0; b < rows; b++)
                    {
                        float* z = _w.FeaturePanelOf(_w.ZT, s, b / Workspace.Tile) + b % Workspace.Tile;
                        var row = destination.Slice((s * rows + b) * n, n);
                        for (int i = 0; i < n; i++) row[i] = z[(nint)i * Workspace.Tile];
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
