using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ToyModels.Backends.Simd.Kernels;
using ToyModels.Backends.Simd.Lanes;
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
public sealed unsafe class SimdBackend : Backend, IWorkItems
{
    /// <summary>
    /// The g_z density from which g_h and gW_out run as dense products. Measured on 2 Zen 3 cores (AVX2): the
    /// sparse walks win up to a density of about 0.6 (n 4096, m 512, B 1024 at density 0.43: g_h 46 ms sparse
    /// against 54 dense; n 512, m 128, p 0.5 at density 0.94: 4.1 ms sparse against 2.8 dense).
    /// </summary>
    internal const double DefaultDenseDensity = 0.6;

    /// <summary>The density threshold in use: tests set it to 0 or above 1 to hold both paths to the reference.</summary>
    internal double DenseDensity { get; set; } = DefaultDenseDensity;

    private enum Phase { Generate, Encode, Decode, Loss, LossHidden, Hidden, TransposeHidden, Gradients, Update }

    private readonly InstructionSet _instructionSet;
    private readonly Workspace _w;
    private readonly IStepKernels _kernels;
    private readonly WorkerPool _pool;
    private readonly long[] _firstNonFinite;
    private readonly int _featureBlocks;
    private int _productBlocks => Blocking.Count(Config.N, Blocking.ProductRows);
    private int _hiddenBlocks => Blocking.Count(Config.M, Blocking.ProductRows);
    private int _laneGroups => Blocking.Count(_w.Panels, Blocking.LaneGroup);
    private readonly int[] _hiddenStart;

    // Per item results of the phase just run, and per instance what the next phases choose from.
    private readonly float[] _panelSmallest;
    private readonly bool[] _panelNonFinite;
    private readonly int[] _panelNonzero;
    private readonly UpdateResult[] _blockResults;
    private readonly float[] _hSmallest, _gzSmallest, _decoderSmallest;
    private readonly bool[] _hNonFinite, _decoderNonFinite, _denseHidden;
    private readonly DecoderGradient[] _decoderGradient;
    private readonly long[] _gzNonzero;
    /// <summary>Per instance, the g_z density of the last Backward: the guess that chooses the fused sparse g_h walk before g_z exists.</summary>
    private readonly double[] _lastDensity;

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
    private bool _scanDecoder = true; // parameters were written since W_out's statistics were taken

    /// <param name="threads">Host threads; 0 for all cores.</param>
    internal SimdBackend(AutoencoderConfig config, int threads = 0) : this(config, threads, InstructionSets.Best) { }

    /// <param name="instructionSet">The widest vectors to use; narrower than <see cref="InstructionSets.Best"/> only for tests and benchmarks.</param>
    internal SimdBackend(AutoencoderConfig config, int threads, InstructionSet instructionSet) : base(config)
    {
        if (threads < 0) throw new ConfigException("threads", threads, "0 (all cores) or a positive integer");
        if (instructionSet > InstructionSets.Best)
            throw new ConfigException("instruction set", InstructionSets.Name(instructionSet), $"at most {InstructionSets.Name(InstructionSets.Best)} on this machine");
        SimdMemory.CheckSizes(config);
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
        int k = Instances;
        _firstNonFinite = new long[k];
        Array.Fill(_firstNonFinite, -1L);
        _featureBlocks = Blocking.Count(config.N, Blocking.Features);
        _hiddenStart = new int[k + 1];
        _panelSmallest = new float[k * _w.Panels];
        _panelNonFinite = new bool[k * _w.Panels];
        _panelNonzero = new int[k * _w.Panels];
        _blockResults = new UpdateResult[k * _featureBlocks];
        _hSmallest = new float[k];
        _gzSmallest = new float[k];
        _decoderSmallest = new float[k];
        _hNonFinite = new bool[k];
        _decoderNonFinite = new bool[k];
        _denseHidden = new bool[k];
        _decoderGradient = new DecoderGradient[k];
        _gzNonzero = new long[k];
        _lastDensity = new double[k];
        Array.Fill(_lastDensity, 1.0);
    }

    public override string Name => "simd";
    public override string Description => $"{InstructionSets.Name(_instructionSet)}, {_pool.Threads} thread{(_pool.Threads == 1 ? "" : "s")}";
    public override int Threads => _pool.Threads;
    internal InstructionSet InstructionSet => _instructionSet;

    protected override void WriteParametersCore(long start, ReadOnlySpan<float> source)
    {
        CanonicalLayout.Import(_w, Layout, start, source, _w.Parameters);
        Array.Fill(_firstNonFinite, -1L);
        _scanDecoder = true;
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
        _decoderSmallest[s] = smallest;
        _decoderNonFinite[s] = nonFinite;
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
        RecordUpdate(scalars.Step);
    }

    protected override void StepCore(OptimizerStep scalars)
    {
        Generate(scalars.Step, 0, Config.Batch, evaluation: false);
        Forward(Config.Batch);
        _trainingForward = true;
        Backward(scalars);
        _gradientsCurrent = false;
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
        RunPhase(Phase.Generate, Instances * Panels(rows));
        _trainingBatch = !evaluation;
    }

    private void Forward(int rows)
    {
        _rows = rows;
        int panels = Panels(rows);
        RunPhase(Phase.Encode, Instances * panels);
        for (int s = 0; s < Instances; s++)
        {
            _hSmallest[s] = float.PositiveInfinity;
            _hNonFinite[s] = false;
            for (int p = 0; p < panels; p++)
            {
                _hSmallest[s] = MathF.Min(_hSmallest[s], _panelSmallest[s * _w.Panels + p]);
                _hNonFinite[s] |= _panelNonFinite[s * _w.Panels + p];
            }
        }
        RunPhase(Phase.Decode, Instances * _productBlocks * LaneGroups(rows));
    }

    private static int LaneGroups(int rows) => Blocking.Count(Panels(rows), Blocking.LaneGroup);

    /// <summary>The decoder product alone (z from the h of the last Forward), for benchmarks.</summary>
    internal void Decode() => RunPhase(Phase.Decode, Instances * _productBlocks * LaneGroups(_rows));

    private void Loss(int rows, bool gradients)
    {
        _rows = rows;
        _withGradients = gradients;
        RunPhase(Phase.Loss, Instances * Panels(rows));
        if (gradients) SummarizeGradient(rows);
    }

    /// <summary>Per instance, g_z's nonzero count and smallest nonzero magnitude from the panels' results.</summary>
    private void SummarizeGradient(int rows)
    {
        for (int s = 0; s < Instances; s++)
        {
            _gzSmallest[s] = float.PositiveInfinity;
            _gzNonzero[s] = 0;
            for (int p = 0; p < Panels(rows); p++)
            {
                _gzSmallest[s] = MathF.Min(_gzSmallest[s], _panelSmallest[s * _w.Panels + p]);
                _gzNonzero[s] += _panelNonzero[s * _w.Panels + p];
            }
        }
    }

    /// <summary>
    /// Loss and g_z; g_h (and x's columns); then the per-feature gradients (into the optimizer when fused).
    /// When the last step's g_z was sparse in every instance, the loss and the sparse g_h walk run together per
    /// panel (g_z is listed while in cache); otherwise the loss runs first and this g_z's density chooses g_h's
    /// path. Both give the same bits: the guess only chooses how fast.
    /// </summary>
    private void Backward(OptimizerStep? fused)
    {
        if (_scanDecoder)
        {
            for (int s = 0; s < Instances; s++) ScanDecoder(s);
            _scanDecoder = false;
        }
        _rows = Config.Batch;
        _hiddenStart[0] = Instances; // the first items build x's columns, one per instance
        bool together = true; // a loop, not a lambda: the step allocates nothing
        for (int s = 0; s < Instances; s++) together &= _lastDensity[s] < DenseDensity;
        if (together)
        {
            _withGradients = true;
            Array.Fill(_denseHidden, false);
            RunPhase(Phase.LossHidden, Instances + Instances * _w.Panels);
            SummarizeGradient(Config.Batch);
        }
        else
            Loss(Config.Batch, gradients: true);
        for (int s = 0; s < Instances; s++)
        {
            double density = (double)_gzNonzero[s] / ((double)Config.N * Config.Batch);
            _lastDensity[s] = density;
            bool dense = density >= DenseDensity;
            if (!together)
                _denseHidden[s] = dense && !_decoderNonFinite[s] && ExactDense.SkipsAreExact(_decoderSmallest[s], _gzSmallest[s]);
            // The fused walk leaves g_z only as lists, so gW_out runs sparse from them (exact at any density).
            _decoderGradient[s] = together ? DecoderGradient.SparseFromLists
                : dense && !_hNonFinite[s] && ExactDense.SkipsAreExact(_hSmallest[s], _gzSmallest[s]) ? DecoderGradient.Dense
                : DecoderGradient.SparseFromPanels;
            _hiddenStart[s + 1] = _hiddenStart[s] + (_denseHidden[s] ? _hiddenBlocks * _laneGroups : _w.Panels);
        }
        if (!together)
        {
            RunPhase(Phase.Hidden, _hiddenStart[Instances]);
            if (Array.IndexOf(_denseHidden, true) >= 0) RunPhase(Phase.TransposeHidden, Instances * _w.Panels);
        }
        _scalars = fused;
        RunPhase(Phase.Gradients, Instances * _featureBlocks);
        if (fused is not null) RecordUpdate(fused.Step);
    }

    private static int Panels(int rows) => Blocking.Count(rows, Workspace.Tile);

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
                int panels = Panels(_rows);
                _kernels.Generate(_w, item / panels, item % panels, _rows, _step, _firstSample, _evaluation);
                break;
            }
            case Phase.Encode:
            {
                int panels = Panels(_rows), s = item / panels, p = item % panels;
                (_panelSmallest[s * _w.Panels + p], _panelNonFinite[s * _w.Panels + p]) = _kernels.Encode(_w, s, p, _rows);
                break;
            }
            case Phase.Decode:
            {
                int groups = LaneGroups(_rows), s = item / (_productBlocks * groups), block = item % (_productBlocks * groups);
                int i0 = block / groups * Blocking.ProductRows, l0 = block % groups * Blocking.LaneGroup * Workspace.Tile;
                _kernels.Decode(_w, s, i0, Math.Min(i0 + Blocking.ProductRows, Config.N), l0,
                    Math.Min(l0 + Blocking.LaneGroup * Workspace.Tile, Workspace.RoundUp(_rows, Workspace.Tile)), _w.Scratch[thread]);
                break;
            }
            case Phase.Loss:
            {
                int panels = Panels(_rows), s = item / panels, p = item % panels;
                (_panelNonzero[s * _w.Panels + p], _panelSmallest[s * _w.Panels + p]) = _kernels.Loss(_w, s, p, _rows, _withGradients);
                break;
            }
            case Phase.LossHidden:
            {
                if (item < Instances)
                {
                    BuildColumns(item);
                    break;
                }
                int s = (item - Instances) / _w.Panels, p = (item - Instances) % _w.Panels;
                (_panelNonzero[s * _w.Panels + p], _panelSmallest[s * _w.Panels + p]) = _kernels.LossAndHiddenGradient(_w, s, p, _w.Scratch[thread]);
                break;
            }
            case Phase.Hidden:
            {
                if (item < Instances)
                {
                    BuildColumns(item);
                    break;
                }
                int s = 0;
                while (item >= _hiddenStart[s + 1]) s++;
                int block = item - _hiddenStart[s];
                if (!_denseHidden[s])
                {
                    _kernels.HiddenGradientSparse(_w, s, block, _w.Scratch[thread]);
                    break;
                }
                int j0 = block / _laneGroups * Blocking.ProductRows, l0 = block % _laneGroups * Blocking.LaneGroup * Workspace.Tile;
                _kernels.HiddenGradientDense(_w, s, j0, Math.Min(j0 + Blocking.ProductRows, Config.M), l0,
                    Math.Min(l0 + Blocking.LaneGroup * Workspace.Tile, _w.Ldb), _w.Scratch[thread]);
                break;
            }
            case Phase.TransposeHidden:
            {
                int s = item / _w.Panels;
                if (_denseHidden[s]) _kernels.TransposeHiddenGradient(_w, s, item % _w.Panels);
                break;
            }
            case Phase.Gradients:
            {
                var (s, i0, i1) = FeatureItem(item);
                _blockResults[item] = _kernels.Gradients(_w, s, i0, i1, _w.Scratch[thread], _scalars, _decoderGradient[s]);
                break;
            }
            case Phase.Update:
            {
                var (s, i0, i1) = FeatureItem(item);
                _blockResults[item] = _kernels.Update(_w, s, i0, i1, _scalars!);
                break;
            }
        }
    }

    private (int Instance, int First, int End) FeatureItem(int item)
    {
        int s = item / _featureBlocks, i0 = item % _featureBlocks * Blocking.Features;
        return (s, i0, Math.Min(i0 + Blocking.Features, Config.N));
    }

    /// <summary>x of instance s as columns: per feature, its nonzero (sample, value) in ascending sample order (a counting sort).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BuildColumns(int s)
    {
        int n = Config.N, batch = Config.Batch;
        int* start = _w.XColumnStart + (nint)s * (n + 1);
        new Span<int>(start, n + 1).Clear();
        for (int b = 0; b < batch; b++)
        {
            SparseEntry* row = _w.XRows + _w.SparseRow(s, b);
            int count = _w.XCount[(nint)s * batch + b];
            for (int e = 0; e < count; e++) start[row[e].Index + 1]++;
        }
        for (int i = 0; i < n; i++) start[i + 1] += start[i];
        SparseEntry* columns = _w.XColumns + (nint)s * batch * n;
        for (int b = 0; b < batch; b++)
        {
            SparseEntry* row = _w.XRows + _w.SparseRow(s, b);
            int count = _w.XCount[(nint)s * batch + b];
            for (int e = 0; e < count; e++)
            {
                SparseEntry* entry = columns + start[row[e].Index]++;
                entry->Index = b;
                entry->Value = row[e].Value;
            }
        }
        // The fill advanced each start to the next feature's; shift back.
        for (int i = n; i > 0; i--) start[i] = start[i - 1];
        start[0] = 0;
    }

    /// <summary>After an update: the first non-finite step per instance, and W_out's statistics for the next step's choice of paths.</summary>
    private void RecordUpdate(long step)
    {
        for (int s = 0; s < Instances; s++)
        {
            bool nonFinite = false;
            float smallest = float.PositiveInfinity;
            for (int block = 0; block < _featureBlocks; block++)
            {
                var result = _blockResults[s * _featureBlocks + block];
                nonFinite |= result.NonFinite;
                smallest = MathF.Min(smallest, result.DecoderSmallest);
            }
            if (nonFinite && _firstNonFinite[s] < 0) _firstNonFinite[s] = step;
            _decoderNonFinite[s] = nonFinite; // any parameter: conservative for W_out
            _decoderSmallest[s] = smallest;
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
                        SparseEntry* row = _w.XRows + _w.SparseRow(s, b);
                        var x = destination.Slice((s * rows + b) * n, n);
                        for (int e = 0; e < _w.XCount[(nint)s * Config.Batch + b]; e++) x[row[e].Index] = row[e].Value;
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

    protected override void ReadFirstNonFiniteStepCore(Span<long> firstStep) => _firstNonFinite.CopyTo(firstStep);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _pool.Dispose();
        _w.Dispose();
    }
}
