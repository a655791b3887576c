using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ToyModels.Backends.Simd.Loops;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Phases;
using ToyModels.Model;

namespace ToyModels.Backends.Simd;

/// <summary>
/// The fast CPU backend: the reference's bits in every buffer after every operation, from vector
/// kernels (AVX-512, AVX2, SSE with FMA, or scalar, chosen at run time) on a small pool of threads.
/// </summary>
/// <remarks>
/// A step is a few parallel phases (Phases/, a type per phase), each split over independent outputs (samples,
/// features, instances), never inside a reduction: data (Philox over 8 lanes), encoder (sparse over x), decoder
/// (the one dense product, blocked), loss and g_z, g_h, and per feature the gradients of W_out, W_in and
/// b, each handed to the optimizer as soon as it is finished, so a fused <see cref="IBackend.Step"/>
/// never materialises the gradient buffer. g_h and gW_out run sparse over the nonzero g_z, or as dense
/// products when g_z is dense enough and that provably gives the same bits (<see cref="ExactDense"/>).
/// While g_z stays sparse, the loss and the sparse g_h walk are one phase, panel by panel; which path each
/// instance takes is a pure plan (<see cref="BackwardPlan"/>). A pack's step goes instance by instance (see
/// <see cref="StepCore"/>), so each instance's working set stays in cache as it does for a run alone.
/// </remarks>
internal sealed unsafe class SimdBackend : Backend
{
    /// <summary>
    /// The g_z density from which g_h and gW_out run as dense products. Measured on 2 Zen 3 cores (AVX2): the
    /// sparse walks win up to a density of about 0.6 (n 4096, m 512, B 1024 at density 0.43: g_h 46 ms sparse
    /// against 54 dense; n 512, m 128, p 0.5 at density 0.94: 4.1 ms sparse against 2.8 dense). A threshold of 0.35,
    /// interleaved step by step with 0.6 at n 512, m 512, p 0.135 early in training (steps 300-700, g_z density 0.25
    /// at the last), made a step 16.6-16.7 ms against 15.9.
    /// </summary>
    internal const double DefaultDenseDensity = 0.6;

    /// <summary>The density threshold in use: tests set it to 0 or above 1 to hold both paths to the reference.</summary>
    internal double DenseDensity { get; set; } = DefaultDenseDensity;

    /// <summary>
    /// Instances a training step or evaluation takes through all its phases at a time on all threads
    /// (<see cref="InstanceBlocks"/>): by default as many as fit the last-level cache; tests set it to hold every
    /// blocking to the reference.
    /// </summary>
    internal int InstanceBlock
    {
        get => _instanceBlock;
        set => _instanceBlock = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least one instance per block");
    }

    /// <summary>
    /// Whether a whole step of a pack of at least as many instances as threads gives each thread whole instances
    /// (each through every phase on its own, with no barrier between phases) rather than taking them block by block
    /// on all threads: null (the default) lets the cache choose (<see cref="InstanceBlocks.WholePerThread"/>); tests
    /// set it to hold both ways to the reference.
    /// </summary>
    internal bool? InstancesPerThread { get; set; }

    /// <summary>
    /// Whether the decoder runs over the kept samples only, each empty one (no active feature) taking the z of the
    /// first (<see cref="EmptySamples"/>): null (the default) when that pays; tests set it to hold both ways to the reference.
    /// </summary>
    internal bool? DecodeEmptyOnce
    {
        get => _state.DecodeEmptyOnce;
        set => _state.DecodeEmptyOnce = value;
    }

    /// <summary>The cache's choice (<see cref="InstancesPerThread"/> null).</summary>
    private readonly bool _wholePerThread;

    private readonly InstructionSet _instructionSet;
    private readonly Workspace _w;
    private readonly StepState _state;
    private readonly WorkerPool _pool;
    private int _instanceBlock;
    /// <summary>The phases run on all threads, and per thread those it runs inline when it takes whole instances.</summary>
    private readonly StepPhases _phases;
    private readonly StepPhases[] _threadPhases;
    private readonly InlineItems[] _inline;
    private readonly InstanceSet[] _threadInstance;
    private readonly InstancePerThread _perThread;
    // Every instance; the block in progress.
    private readonly InstanceSet _all, _block;

    // What the buffers hold.
    private bool _trainingBatch;      // x is the training batch of the last GenerateBatch (not evaluation rows)
    private bool _trainingForward;    // h and z belong to that batch
    private bool _activationsKept = true; // x, h and z of every instance are in its own room (not after a step that shared rooms)
    private bool _gradientsCurrent = true; // the gradient buffer holds the last Backward's gradients (zeros before any)
    private bool _scanDecoder = true; // parameters were written since W_out's statistics were taken

    /// <param name="config">The run.</param>
    /// <param name="threads">Host threads; 0 for all cores.</param>
    internal SimdBackend(AutoencoderConfig config, int threads = 0) : this(config, threads, InstructionSets.Best) { }

    /// <param name="config">The run.</param>
    /// <param name="threads">Host threads; 0 for all cores.</param>
    /// <param name="instructionSet">The widest vectors to use; narrower than <see cref="InstructionSets.Best"/> only for tests and benchmarks.</param>
    internal SimdBackend(AutoencoderConfig config, int threads, InstructionSet instructionSet) : base(config)
    {
        if (threads < 0) throw new ConfigException("BackendOptions.Threads", threads, "0 (all cores) or a positive integer");
        if (instructionSet > InstructionSets.Best)
            throw new ConfigException("instruction set", InstructionSets.Name(instructionSet), $"at most {InstructionSets.Name(InstructionSets.Best)} on this machine");
        SimdMemory.CheckSizes(config);
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
        _state = new StepState(_w, kernels, _instructionSet);
        _pool = new WorkerPool(count);
        int k = Instances;
        long cache = InstanceBlocks.LastLevelCache();
        _instanceBlock = InstanceBlocks.Size(config.EstimatedBytes / k, cache, k);
        long state = sizeof(float) * (long)_w.PerInstance * (1 + config.Optimizer.StateSlots);
        long activations = sizeof(float) * (long)config.Batch * (3L * config.N + 2L * config.M);
        _wholePerThread = InstanceBlocks.WholePerThread(k, count, state, activations, cache);
        _phases = new StepPhases(_state);
        _threadPhases = new StepPhases[count];
        _inline = new InlineItems[count];
        _threadInstance = new InstanceSet[count];
        for (int t = 0; t < count; t++) (_threadPhases[t], _inline[t], _threadInstance[t]) = (new(_state), new(t), new(k));
        _perThread = new InstancePerThread(this);
        (_all, _block) = (new(k), new(k));
        _all.SetRange(0, k);
    }

    /// <summary>The paths instance s's last Backward took (for tests).</summary>
    internal BackwardPaths PathsOf(int s) => _state.Records[s].Paths;

    /// <summary>The g_z density of instance s's last Backward (for benchmarks).</summary>
    internal double GzDensityOf(int s) => _state.Records[s].LastDensity;

    /// <summary>
    /// For benchmarks: of instance s's last training batch, the outputs with z &gt; 0 (and importance not 0) in samples
    /// with no active feature, which the sparse g_h walk leaves out; and whether the sparse gW_out walk left them out
    /// too (<see cref="BackwardPlan.SkipsEmptySamples"/>). Every such sample's z is the bias, so each has the first one's
    /// count. Read from the activation rooms, which hold instance s's batch after a step of it alone or of its block.
    /// </summary>
    internal (long Nonzero, bool DecoderSkips) EmptySampleGzOf(int s)
    {
        int* counts = _w.XCountOf(s);
        int empty = 0, first = -1;
        for (int b = 0; b < _w.Batch; b++)
            if (counts[b] == 0)
            {
                empty++;
                if (first < 0) first = b;
            }
        bool skips = _state.Records[s].SkipsEmpty;
        if (empty == 0) return (0, skips);
        float* z = _w.FeaturePanelOf(_w.ZT, s, first / Workspace.Tile) + first % Workspace.Tile;
        float* importance = _w.Importance + (nint)s * _w.N;
        int positive = 0;
        for (int i = 0; i < _w.N; i++)
            if (z[(nint)i * Workspace.Tile] > 0f && importance[i] != 0f) positive++;
        return ((long)empty * positive, skips);
    }

    /// <summary>The samples instance s's last Forward decoded when it left out empty ones, or 0 when it decoded all (for tests).</summary>
    internal int DecodedSamplesOf(int s) => _w.Kept[s];

    public override string Name => "simd";
    public override string Description => $"{InstructionSets.Name(_instructionSet)}, {_pool.Threads} thread{(_pool.Threads == 1 ? "" : "s")}";
    public override int Threads => _pool.Threads;
    internal InstructionSet InstructionSet => _instructionSet;

    protected override void WriteParametersCore(long start, ReadOnlySpan<float> source)
    {
        CanonicalLayout.Import(_w, Layout, start, source, _w.Parameters);
        Array.Fill(_state.FirstNonFinite, -1L);
        _scanDecoder = true;
    }

    /// <summary>W_out's and the bias's statistics of every instance, once parameters were written (in pieces, so not per piece).</summary>
    private void ScanDecodersIfWritten()
    {
        if (!_scanDecoder) return;
        for (int s = 0; s < Instances; s++) ScanDecoder(s);
        _scanDecoder = false;
    }

    /// <summary>
    /// The smallest nonzero |W_out|, and whether W_out and the bias are finite, which the exact dense paths and leaving
    /// out empty samples need (an empty sample's z is the bias); updates keep them current.
    /// </summary>
    private void ScanDecoder(int s)
    {
        float* block = _w.Block(_w.Parameters, s), decoder = block + (Config.Tied ? _w.EncoderOffset : _w.DecoderOffset);
        float smallest = float.PositiveInfinity;
        bool nonFinite = false;
        for (int i = 0; i < Config.N; i++)
            for (int j = 0; j < Config.M; j++)
            {
                float v = decoder[(nint)i * _w.Ldm + j];
                nonFinite |= !float.IsFinite(v);
                if (v != 0f && float.IsFinite(v)) smallest = MathF.Min(smallest, MathF.Abs(v));
            }
        if (_w.Bias)
            for (int i = 0; i < Config.N; i++) nonFinite |= !float.IsFinite(block[_w.BiasOffset + i]);
        _state.Records[s].DecoderSmallest = smallest;
        _state.Records[s].DecoderNonFinite = nonFinite;
    }

    protected override void ReadParametersCore(long start, Span<float> destination) => CanonicalLayout.Export(_w, Layout, _w.Parameters, start, destination);

    protected override void WriteOptimizerStateCore(long start, ReadOnlySpan<float> source)
    {
        while (!source.IsEmpty)
        {
            var (slot, at, count) = SlotPiece(start, source.Length);
            CanonicalLayout.Import(_w, Layout, at, source[..count], slot == 0 ? _w.First : _w.Second);
            source = source[count..];
            start += count;
        }
    }

    protected override void ReadOptimizerStateCore(long start, Span<float> destination)
    {
        while (!destination.IsEmpty)
        {
            var (slot, at, count) = SlotPiece(start, destination.Length);
            CanonicalLayout.Export(_w, Layout, slot == 0 ? _w.First : _w.Second, at, destination[..count]);
            destination = destination[count..];
            start += count;
        }
    }

    /// <summary>The part of a state range inside one slot: the slot, the offset in it, the count.</summary>
    private (int Slot, long At, int Count) SlotPiece(long start, int length)
    {
        long total = Layout.Total;
        return ((int)(start / total), start % total, (int)Math.Min(length, total - start % total));
    }

    // The separate operations run each phase over every instance; a whole step and an evaluation go instance by
    // instance, or block by block of instances.

    protected override void GenerateBatchCore(long step)
    {
        _phases.Generate(_pool, _all, Config.Batch, step, 0, evaluation: false);
        _trainingBatch = _activationsKept = true;
        _trainingForward = false;
    }

    protected override void ForwardCore()
    {
        if (!_activationsKept)
            throw new InvalidOperationException("Forward needs GenerateBatch or Evaluate first: a Step of a pack keeps no x");
        _phases.Forward(_pool, _all, Rows);
        _trainingForward = _trainingBatch;
    }

    protected override void BackwardCore()
    {
        if (!_trainingForward)
            throw new InvalidOperationException("Backward needs GenerateBatch and Forward of a training batch first (an Evaluate in between replaces x, h and z)");
        _w.EnsureGradients();
        ScanDecodersIfWritten();
        _phases.Backward(_pool, _all, fused: null, DenseDensity);
        _gradientsCurrent = true;
    }

    protected override void UpdateCore(OptimizerScalars scalars)
    {
        if (!_gradientsCurrent)
            throw new InvalidOperationException("Update applies the gradients of the last Backward; a Step since then applied its own without keeping them");
        _w.EnsureGradients();
        _phases.Update(_pool, _all, scalars);
    }

    /// <summary>
    /// A pack of at least as many instances as threads whose state does not fit the cache (see
    /// <see cref="InstanceBlocks.WholePerThread"/>): each thread takes whole instances through every phase, in
    /// the activation room of its own; what is left over (fewer than the threads), or every instance of a pack that
    /// fits, goes block by block on all threads, each block in the first rooms. Either way the few rooms in use stay in cache from instance to instance, and a
    /// pack touches per instance little more than its parameters and optimizer state. When rooms were shared, x, h and
    /// z are not kept. One instance, or a pack that fits one block, runs as before: every phase on all threads.
    /// </summary>
    protected override void StepCore(OptimizerScalars scalars)
    {
        int k = Instances, threads = _pool.Threads;
        int whole = (InstancesPerThread ?? _wholePerThread) && threads > 1 && k >= threads ? k / threads * threads : 0;
        bool shared = whole > 0 || _instanceBlock < k;
        ScanDecodersIfWritten();
        _perThread.Run(_pool, whole, scalars);
        for (int first = whole; first < k; first += _instanceBlock)
        {
            _block.SetRange(first, Math.Min(first + _instanceBlock, k));
            if (shared)
                for (int i = 0; i < _block.Count; i++) _w.ActivationSlot[_block[i]] = i;
            _phases.Train(_pool, _block, scalars, DenseDensity);
        }
        _w.OwnSlots();
        _activationsKept = !shared;
        _trainingBatch = _trainingForward = !shared;
        _gradientsCurrent = false;
    }

    /// <summary>Instances 0 .. count - 1 of a step, each whole on whichever thread takes it, in that thread's activation room.</summary>
    private sealed class InstancePerThread(SimdBackend backend) : IWorkItems
    {
        private OptimizerScalars _scalars = null!;

        public void Run(WorkerPool pool, int count, OptimizerScalars scalars)
        {
            _scalars = scalars;
            pool.Run(this, count);
        }

        void IWorkItems.Run(int s, int thread)
        {
            backend._w.ActivationSlot[s] = thread;
            var one = backend._threadInstance[thread];
            one.SetRange(s, s + 1);
            backend._threadPhases[thread].Train(backend._inline[thread], one, _scalars, backend.DenseDensity);
        }
    }

    protected override void EvaluateCore(long firstSample, int count, Span<float> rowLoss)
    {
        for (int first = 0; first < Instances; first += _instanceBlock)
        {
            _block.SetRange(first, Math.Min(first + _instanceBlock, Instances));
            _phases.Generate(_pool, _block, count, 0, firstSample, evaluation: true);
            _phases.Forward(_pool, _block, count);
            _phases.Loss(_pool, _block, count);
        }
        _trainingBatch = _trainingForward = false;
        _activationsKept = true;
        for (int s = 0; s < Instances; s++)
            new ReadOnlySpan<float>(_w.RowLoss + (nint)s * _w.Ldb, count).CopyTo(rowLoss.Slice(s * count, count));
    }

    /// <summary>The decoder product alone (z from the h of the last Forward), for benchmarks.</summary>
    internal void Decode() => _phases.Decode(_pool, _all, Rows);

    protected override void ReadCore(TensorKind tensor, Span<float> destination)
    {
        int rows = Rows, n = Config.N, m = Config.M;
        if (!_activationsKept && tensor is TensorKind.X or TensorKind.H or TensorKind.Z)
            throw new InvalidOperationException($"{tensor} is not kept by a Step of a pack (its instances share activation rooms); run GenerateBatch and Forward to read it");
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
                else CanonicalLayout.Export(_w, Layout, _w.Gradients, 0, destination);
                break;
            case TensorKind.RowLoss:
                for (int s = 0; s < Instances; s++)
                    new ReadOnlySpan<float>(_w.RowLoss + (nint)s * _w.Ldb, rows).CopyTo(destination.Slice(s * rows, rows));
                break;
        }
    }

    protected override void ReadFirstNonFiniteStepCore(Span<long> firstStep) => _state.FirstNonFinite.CopyTo(firstStep);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _pool.Dispose();
        _w.Dispose();
    }
}
