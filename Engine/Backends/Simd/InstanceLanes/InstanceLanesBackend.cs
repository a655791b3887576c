using System.Runtime.Intrinsics;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;

namespace ToyModels.Backends.Simd.InstanceLanes;

/// <summary>
/// The SIMD backend's layout for many small models trained together (sweeps, packing): instance s is lane
/// s % Lanes of group s / Lanes, so one vector operation advances Lanes models at once and a model as small
/// as n 5, m 2 still fills the vectors. Each lane performs the reference's operations in the reference's
/// order, so every instance gets the reference's bits (the backend suite holds it to that). Groups are
/// independent: the worker threads take whole groups.
/// </summary>
/// <remarks>
/// The loops are dense per group (lanes have different sparsity), so this pays only for small n x m, where
/// the per-instance layout (<see cref="SimdBackend"/>) cannot fill a vector along the model's own axes.
/// </remarks>
internal sealed unsafe class InstanceLanesBackend : Backend, IWorkItems
{
    /// <summary>The largest n x m for which the lane layout is chosen (measured: Benchmarks PackingBenchmarks).</summary>
    public const int LargestModel = 1024;

    /// <summary>At least this many instances before lanes pay: fewer leave most of each vector idle.</summary>
    public const int FewestInstances = 4;

    public static bool Suits(AutoencoderConfig config) =>
        config.InstanceCount >= FewestInstances && (long)config.N * config.M <= LargestModel;

    private readonly InstructionSet _instructionSet;
    private readonly ILaneKernels _kernels;
    private readonly WorkerPool _pool;
    private readonly InstanceConstants _constants;
    private readonly int _lanes, _groups;
    private readonly List<NativeBuffer> _memory = [];
    private readonly LaneGroup[] _group;
    private readonly int _blockRows;              // rows per block of a fused step: the block's activations stay in L2
    private readonly LaneGroup[] _block;          // per thread: x, h, z, g_z, g_h of one block of rows
    private readonly int*[] _activeRow, _activeFeature; // per thread: the active features of the rows being generated
    private readonly float* _negativeStepSize;    // [groups][lanes]
    private readonly float* _decay;               // [groups][lanes]
    private readonly long[] _firstNonFinite;

    private enum Phase { Generate, Forward, Backward, Update, Evaluate, Step }
    private Phase _phase;
    private bool _activationsDropped; // the last operation was a fused step, which keeps row losses and gradients only
    private uint _step;
    private long _firstSample;
    private bool _evaluation;
    private OptimizerStep? _scalars;

    public InstanceLanesBackend(AutoencoderConfig config, int threads, InstructionSet instructionSet) : base(config)
    {
        if (threads < 0) throw new ConfigException("threads", threads, "0 (all cores) or a positive integer");
        if (instructionSet > InstructionSets.Best)
            throw new ConfigException("instruction set", InstructionSets.Name(instructionSet), $"at most {InstructionSets.Name(InstructionSets.Best)} on this machine");
        _instructionSet = instructionSet;
        _kernels = instructionSet switch
        {
            InstructionSet.Avx512 => new LaneKernels<Vector512<float>, Vector512<ulong>, Vector512Lanes>(),
            InstructionSet.Avx2 => new LaneKernels<Vector256<float>, Vector256<ulong>, Vector256Lanes>(),
            InstructionSet.Sse => new LaneKernels<Vector128<float>, Vector128<ulong>, Vector128Lanes>(),
            _ => new LaneKernels<float, ulong, ScalarLanes>(),
        };
        _lanes = _kernels.Lanes;
        _groups = (Instances + _lanes - 1) / _lanes;
        int count = threads == 0 ? Environment.ProcessorCount : threads;
        _pool = new WorkerPool(count);
        _constants = new InstanceConstants(config);
        _firstNonFinite = new long[Instances];
        Array.Fill(_firstNonFinite, -1L);

        int n = config.N, m = config.M, b = config.Batch, per = (int)Layout.PerInstance, slots = config.Optimizer.StateSlots;
        _group = new LaneGroup[_groups];
        for (int g = 0; g < _groups; g++)
        {
            float* parameters = Floats(per), gradients = Floats(per);
            float* encoderGradient = gradients + (nint)Layout.Encoder.Offset * _lanes;
            _group[g] = new LaneGroup
            {
                N = n, M = m, Batch = b, PerInstance = per, Tied = config.Tied,
                X = Floats((long)b * n), H = Floats((long)b * m), Z = Floats((long)b * n), Gz = Floats((long)b * n),
                Gh = Floats((long)b * m), RowLoss = Floats(b), Importance = Floats(n), GradScale = Floats(n),
                Parameters = parameters, Gradients = gradients,
                First = slots >= 1 ? Floats(per) : null, Second = slots >= 2 ? Floats(per) : null,
                Encoder = parameters + (nint)Layout.Encoder.Offset * _lanes,
                Decoder = parameters + (nint)(config.Tied ? Layout.Encoder.Offset : Layout.Decoder.Offset) * _lanes,
                Bias = config.Bias ? parameters + (nint)Layout.BiasVector.Offset * _lanes : null,
                EncoderGradient = encoderGradient,
                DecoderGradient = config.Tied ? Floats((long)n * m) : gradients + (nint)Layout.Decoder.Offset * _lanes,
                BiasGradient = config.Bias ? gradients + (nint)Layout.BiasVector.Offset * _lanes : null,
            };
        }
        for (int s = 0; s < Instances; s++)
            for (int i = 0; i < n; i++)
            {
                *Element(_group[s / _lanes].Importance, i, s) = _constants.Importance[s * n + i];
                *Element(_group[s / _lanes].GradScale, i, s) = _constants.GradScale[s * n + i];
            }
        _negativeStepSize = (float*)Buffer((long)_groups * _lanes * sizeof(float));
        _decay = (float*)Buffer((long)_groups * _lanes * sizeof(float));
        _activeRow = new int*[count];
        _activeFeature = new int*[count];
        for (int t = 0; t < count; t++)
        {
            _activeRow[t] = (int*)Buffer((long)b * n * sizeof(int));
            _activeFeature[t] = (int*)Buffer((long)b * n * sizeof(int));
        }
        _blockRows = Math.Clamp(BlockBytes / ((3 * n + 2 * m) * _lanes * sizeof(float)), 1, b);
        _block = new LaneGroup[count];
        for (int t = 0; t < count; t++)
            _block[t] = new LaneGroup
            {
                X = Floats((long)_blockRows * n), H = Floats((long)_blockRows * m), Z = Floats((long)_blockRows * n),
                Gz = Floats((long)_blockRows * n), Gh = Floats((long)_blockRows * m),
            };
    }

    /// <summary>The activations of one block of rows in a fused step: well inside L2.</summary>
    private const int BlockBytes = 256 << 10;

    public override string Name => "simd";
    public override string Description =>
        $"{InstructionSets.Name(_instructionSet)}, {_lanes} instance{(_lanes == 1 ? "" : "s")} per vector, {_pool.Threads} thread{(_pool.Threads == 1 ? "" : "s")}";
    public override int Threads => _pool.Threads;

    private byte* Buffer(long bytes)
    {
        var buffer = new NativeBuffer(bytes);
        _memory.Add(buffer);
        return buffer.Pointer;
    }

    private float* Floats(long elements) => (float*)Buffer(elements * _lanes * sizeof(float));

    /// <summary>Element e of instance s in a group tensor.</summary>
    private float* Element(float* tensor, nint e, int s) => tensor + e * _lanes + s % _lanes;

    protected override void WriteParametersCore(long start, ReadOnlySpan<float> source)
    {
        Import(start, source, g => (nint)_group[g].Parameters);
        Array.Fill(_firstNonFinite, -1L);
    }

    protected override void ReadParametersCore(long start, Span<float> destination) => Export(g => (nint)_group[g].Parameters, start, destination);

    protected override void WriteOptimizerStateCore(long start, ReadOnlySpan<float> source)
    {
        long total = Layout.Total;
        for (int done = 0; done < source.Length;)
        {
            long at = (start + done) % total;
            int count = (int)Math.Min(source.Length - done, total - at);
            Import(at, source.Slice(done, count), (start + done) / total == 0 ? g => (nint)_group[g].First : g => (nint)_group[g].Second);
            done += count;
        }
    }

    protected override void ReadOptimizerStateCore(long start, Span<float> destination)
    {
        long total = Layout.Total;
        for (int done = 0; done < destination.Length;)
        {
            long at = (start + done) % total;
            int count = (int)Math.Min(destination.Length - done, total - at);
            Export((start + done) / total == 0 ? g => (nint)_group[g].First : g => (nint)_group[g].Second, at, destination.Slice(done, count));
            done += count;
        }
    }

    // The lane layout is for models of at most LargestModel floats per tensor, so offsets inside a block are ints.
    private void Import(long start, ReadOnlySpan<float> canonical, Func<int, nint> tensor)
    {
        long per = Layout.PerInstance;
        for (int c = 0; c < canonical.Length; c++)
        {
            long position = start + c;
            int s = (int)(position / per);
            *Element((float*)tensor(s / _lanes), (nint)(position % per), s) = canonical[c];
        }
    }

    private void Export(Func<int, nint> tensor, long start, Span<float> canonical)
    {
        long per = Layout.PerInstance;
        for (int c = 0; c < canonical.Length; c++)
        {
            long position = start + c;
            int s = (int)(position / per);
            canonical[c] = *Element((float*)tensor(s / _lanes), (nint)(position % per), s);
        }
    }

    protected override void GenerateBatchCore(long step)
    {
        _activationsDropped = false;
        _step = (uint)step;
        _firstSample = 0;
        _evaluation = false;
        Run(Phase.Generate);
    }

    protected override void ForwardCore()
    {
        ThrowIfDropped("Forward");
        Run(Phase.Forward);
    }

    protected override void BackwardCore()
    {
        ThrowIfDropped("Backward");
        Run(Phase.Backward);
    }

    /// <summary>
    /// The whole step one block of rows at a time, per group: generate, forward, loss and the gradients'
    /// terms of the block while its activations are in cache, then the update. Keeps row losses and
    /// gradients; x, h, z are not kept (read them after separate operations).
    /// </summary>
    protected override void StepCore(OptimizerStep scalars)
    {
        _step = (uint)scalars.Step;
        _evaluation = false;
        SetStepScalars(scalars);
        _activationsDropped = true;
        Run(Phase.Step);
        _scalars = null;
    }

    private void ThrowIfDropped(string operation)
    {
        if (_activationsDropped)
            throw new InvalidOperationException($"{operation} needs the x of a GenerateBatch: a Step of this backend keeps only row losses and gradients");
    }

    protected override void UpdateCore(OptimizerStep scalars)
    {
        SetStepScalars(scalars);
        Run(Phase.Update);
        _scalars = null;
    }

    private void SetStepScalars(OptimizerStep scalars)
    {
        for (int s = 0; s < Instances; s++)
        {
            _negativeStepSize[s] = -scalars.StepSize[s];
            _decay[s] = scalars.DecayFactor[s];
        }
        _scalars = scalars;
    }

    protected override void EvaluateCore(long firstSample, int count, Span<float> rowLoss)
    {
        _activationsDropped = false;
        _step = 0;
        _firstSample = firstSample;
        _evaluation = true;
        Run(Phase.Evaluate);
        for (int s = 0; s < Instances; s++)
            for (int r = 0; r < count; r++)
                rowLoss[s * count + r] = *Element(_group[s / _lanes].RowLoss, r, s);
    }

    private void Run(Phase phase)
    {
        _phase = phase;
        _pool.Run(this, _groups);
    }

    /// <summary>One group's share of the current phase.</summary>
    void IWorkItems.Run(int g, int thread)
    {
        ref readonly var group = ref _group[g];
        switch (_phase)
        {
            case Phase.Generate:
                GenerateGroup(g, thread);
                break;
            case Phase.Forward:
                _kernels.Forward(group, Rows);
                break;
            case Phase.Backward:
                _kernels.Loss(group, Config.Batch, gradient: true);
                _kernels.BeginBackward(group);
                _kernels.AccumulateRows(group, Config.Batch);
                _kernels.EndBackward(group);
                break;
            case Phase.Update:
                Update(g);
                break;
            case Phase.Step:
                _kernels.BeginBackward(group);
                for (int first = 0; first < Config.Batch; first += _blockRows)
                {
                    int rows = Math.Min(_blockRows, Config.Batch - first);
                    var block = group with
                    {
                        X = _block[thread].X, H = _block[thread].H, Z = _block[thread].Z, Gz = _block[thread].Gz, Gh = _block[thread].Gh,
                        RowLoss = group.RowLoss + (nint)first * _lanes,
                    };
                    Generate(g, block.X, first, rows, thread);
                    _kernels.Forward(block, rows);
                    _kernels.Loss(block, rows, gradient: true);
                    _kernels.AccumulateRows(block, rows);
                }
                _kernels.EndBackward(group);
                Update(g);
                break;
            case Phase.Evaluate:
                GenerateGroup(g, thread);
                _kernels.Forward(group, Rows);
                _kernels.Loss(group, Rows, gradient: false);
                break;
        }
    }

    private void GenerateGroup(int g, int thread) => Generate(g, _group[g].X, _firstSample, Rows, thread);

    /// <summary>x of every instance of group g for samples first .. first + rows - 1, into rows 0 .. rows - 1 of <paramref name="x"/>.</summary>
    private void Generate(int g, float* x, long first, int rows, int thread)
    {
        int n = Config.N;
        new Span<float>(x, rows * n * _lanes).Clear();
        for (int l = 0; l < _lanes && g * _lanes + l < Instances; l++)
        {
            int s = g * _lanes + l;
            _kernels.Generate(x, l, n, rows, _constants.Seed[s], _constants.Threshold[s], _step, first, _evaluation, _activeRow[thread], _activeFeature[thread]);
        }
    }

    private void Update(int g)
    {
        uint nonFinite = _kernels.Update(_group[g], _scalars!, _negativeStepSize + g * _lanes, _decay + g * _lanes);
        for (int l = 0; l < _lanes && g * _lanes + l < Instances; l++)
            if ((nonFinite & (1u << l)) != 0 && _firstNonFinite[g * _lanes + l] < 0) _firstNonFinite[g * _lanes + l] = _scalars!.Step;
    }

    protected override void ReadCore(TensorKind tensor, Span<float> destination)
    {
        int rows = Rows, n = Config.N, m = Config.M;
        if (_activationsDropped && tensor is TensorKind.X or TensorKind.H or TensorKind.Z)
            throw new InvalidOperationException($"{tensor} is not kept by a Step of this backend; run GenerateBatch, Forward and Backward to read it");
        switch (tensor)
        {
            case TensorKind.X: ExportRows(g => (nint)_group[g].X, n, rows, destination); break;
            case TensorKind.Z: ExportRows(g => (nint)_group[g].Z, n, rows, destination); break;
            case TensorKind.H: ExportRows(g => (nint)_group[g].H, m, rows, destination); break;
            case TensorKind.RowLoss: ExportRows(g => (nint)_group[g].RowLoss, 1, rows, destination); break;
            case TensorKind.Gradients: Export(g => (nint)_group[g].Gradients, 0, destination); break;
        }
    }

    private void ExportRows(Func<int, nint> tensor, int width, int rows, Span<float> destination)
    {
        for (int s = 0; s < Instances; s++)
        {
            float* lanes = (float*)tensor(s / _lanes);
            for (int e = 0; e < rows * width; e++) destination[s * rows * width + e] = *Element(lanes, e, s);
        }
    }

    protected override void ReadFirstNonFiniteStepCore(Span<long> firstStep) => _firstNonFinite.CopyTo(firstStep);

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _pool.Dispose();
        foreach (var buffer in _memory) buffer.Dispose();
        _memory.Clear();
    }
}
