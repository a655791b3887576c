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
    private readonly LaneGroup[] _block;          // per thread, and one more: x, h, z, g_z, g_h of one block of rows
    private readonly StreamScratch[] _stream;     // per thread: the data stream's list
    private readonly float* _negativeStepSize;    // [groups][lanes]
    private readonly float* _decay;               // [groups][lanes]
    private readonly long[] _firstNonFinite;
    private readonly GradientPiece _whole;
    private readonly bool _pipelined;             // steps as a pipeline of row blocks over all threads: see StepCore
    private readonly int _rowBlocks;              // blocks of _blockRows rows in a batch
    private readonly bool[] _blockOnGrid;         // per block buffer: a pipelined step's g_z of the block there is on the grid (SkipZero)
    private readonly int[] _rowsDone;             // [group][row block]: the pipelined step whose rows of the block are done
    private int _tasks;                           // a pipelined step's next task
    private int _accumulated;                     // a pipelined step's blocks whose gradient terms are summed, all groups in order
    private int _pipelineStep;                    // pipelined steps so far (stamps _rowsDone)
    private DenseSums _dense;                     // a pipelined step's current group: which sums still add every term

    private enum Phase { Generate, Forward, Backward, Update, Evaluate, Step, Pipeline }
    private Phase _phase;
    private bool _activationsDropped; // the last operation was a fused step, which keeps row losses and gradients only
    private uint _step;
    private long _firstSample;
    private bool _evaluation;
    private OptimizerScalars? _scalars;

    /// <param name="config">The run: instance s goes to lane s % Lanes of group s / Lanes (<see cref="Suits"/> says when this layout pays).</param>
    /// <param name="threads">Worker threads: 0 for every core (Environment.ProcessorCount); negative throws a ConfigException.</param>
    /// <param name="instructionSet">The vectors: Avx512, Avx2, Sse or Scalar put 16, 8, 4 or 1 instances in a group; above
    /// <see cref="InstructionSets.Best"/> on this machine throws a ConfigException.</param>
    /// <param name="pipelined">Whether a step runs as a pipeline of row blocks over all threads (null: when the groups do not share the threads evenly; see <see cref="StepCore"/>).</param>
    public InstanceLanesBackend(AutoencoderConfig config, int threads, InstructionSet instructionSet, bool? pipelined = null) : base(config)
    {
        if (threads < 0) throw new ConfigException("BackendOptions.Threads", threads, "0 (all cores) or a positive integer");
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
            int live = Math.Min(_lanes, Instances - g * _lanes);
            var seeds = (ulong*)Buffer((long)live * sizeof(ulong));
            for (int l = 0; l < live; l++) seeds[l] = _constants.Seed[g * _lanes + l];
            var streamKeys = (ulong*)Buffer((long)_kernels.ScheduleLength * sizeof(ulong));
            var streamThresholds = (ulong*)Buffer((long)_kernels.ThresholdLength * sizeof(ulong));
            _kernels.PrepareStream(streamKeys, streamThresholds, new ReadOnlySpan<ulong>(seeds, live), _constants.Threshold.AsSpan(g * _lanes, live));
            _group[g] = new LaneGroup
            {
                N = n, M = m, Batch = b, PerInstance = per, Tied = config.Tied,
                X = RowTensor(b, n), H = RowTensor(b, m), Z = RowTensor(b, n), Gz = RowTensor(b, n), Gh = RowTensor(b, m),
                RowLoss = Floats(b), Importance = Floats(n), GradScale = Floats(n),
                Live = live, Seeds = seeds, StreamKeys = streamKeys, StreamThresholds = streamThresholds,
                Parameters = parameters, Gradients = gradients,
                First = slots >= 1 ? Floats(per) : null, Second = slots >= 2 ? Floats(per) : null,
                EncoderOffset = (nint)Layout.Encoder.Offset,
                DecoderOffset = config.Tied ? 0 : (nint)Layout.Decoder.Offset,
                BiasOffset = config.Bias ? (nint)Layout.BiasVector.Offset : 0,
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
        _stream = new StreamScratch[count];
        for (int t = 0; t < count; t++)
            _stream[t] = new StreamScratch
            {
                Entries = (ulong*)Buffer(StreamScratch.Capacity(n, _lanes) * sizeof(ulong)),
                Blocks = Buffer((long)(n + 3) / 4 * 3 * 64),
                Masks = (ulong*)Buffer((long)StreamScratch.PassRows(n) * ((n + 3) / 4) * sizeof(ulong)),
            };
        _blockRows = RowsPerBlock(n, m, b, _lanes);
        _whole = GradientPiece.Whole(n, m);
        _pipelined = pipelined ?? (count > 1 && _groups % count != 0 && _groups < 4 * count);
        _rowBlocks = (b + _blockRows - 1) / _blockRows;
        _rowsDone = new int[_groups * _rowBlocks];
        _block = new LaneGroup[BlockBuffers(count)];
        _blockOnGrid = new bool[_block.Length];
        for (int t = 0; t < _block.Length; t++)
            _block[t] = new LaneGroup
            {
                X = RowTensor(_blockRows, n), H = RowTensor(_blockRows, m), Z = RowTensor(_blockRows, n), Gz = RowTensor(_blockRows, n), Gh = RowTensor(_blockRows, m),
            };
    }


    /// <summary>Buffers of one block of rows: one per thread, and one more so that a pipelined step keeps every thread busy.</summary>
    internal static int BlockBuffers(int threads) => threads + 1;

    /// <summary>Rows per block of a step (tests place inputs in a later block with it).</summary>
    internal int BlockRows => _blockRows;

    /// <summary>The activations of one block of rows in a fused step: well inside L2.</summary>
    private const int BlockBytes = 256 << 10;

    /// <summary>Rows per block of a step: whole panels whose x, h, z, g_z, g_h take about <see cref="BlockBytes"/>.</summary>
    internal static int RowsPerBlock(int n, int m, int batch, int lanes) =>
        Math.Clamp(BlockBytes / ((3 * n + 2 * m) * lanes * sizeof(float)) / Panels.Rows * Panels.Rows, Panels.Rows, Math.Max(batch, Panels.Rows));

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

    /// <summary>A per-row tensor of <paramref name="rows"/> rows of <paramref name="width"/> elements, in panels.</summary>
    private float* RowTensor(int rows, int width) => (float*)Buffer(Panels.Floats(rows, width, _lanes) * sizeof(float));

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
    /// A whole step. When the groups share the threads evenly (or are many), each thread takes whole groups: a group's
    /// step runs one block of rows at a time (generate, forward, loss and the gradients' terms of the block while
    /// its activations are in cache), then the update; one hand-off per step. Otherwise (a pack of 8 on 2 threads is
    /// one group) the step is a pipeline (<see cref="Pipeline"/>): the blocks' rows (generate, forward, loss, g_h) run
    /// on any thread, several blocks at once, while the blocks' gradient terms are summed one block after another.
    /// Either way every sum runs in the reference's order. Keeps row losses and gradients; x, h, z are not kept
    /// (read them after separate operations).
    /// </summary>
    protected override void StepCore(OptimizerScalars scalars)
    {
        _step = (uint)scalars.Step;
        _evaluation = false;
        SetStepScalars(scalars);
        _activationsDropped = true;
        if (_pipelined)
        {
            _tasks = 0;
            _accumulated = 0;
            _pipelineStep++;
            _phase = Phase.Pipeline;
            _pool.Run(this, _pool.Threads);
        }
        else
        {
            Run(Phase.Step);
        }
        _scalars = null;
    }

    private void ThrowIfDropped(string operation)
    {
        if (_activationsDropped)
            throw new InvalidOperationException($"{operation} needs the x of a GenerateBatch: a Step of this backend keeps only row losses and gradients");
    }

    protected override void UpdateCore(OptimizerScalars scalars)
    {
        SetStepScalars(scalars);
        Run(Phase.Update);
        _scalars = null;
    }

    private void SetStepScalars(OptimizerScalars scalars)
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

    /// <summary>One item of the current phase: a group's share, or in a split step a block of rows or a gradient piece of a group.</summary>
    void IWorkItems.Run(int item, int thread)
    {
        if (_phase == Phase.Pipeline)
        {
            Pipeline(thread);
            return;
        }
        int g = item;
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
            {
                bool gzOnGrid = _kernels.Loss(group, Config.Batch, gradient: true);
                _kernels.HiddenGradient(group, Config.Batch, gzOnGrid);
                _kernels.Begin(group, _whole);
                var dense = DenseSums.Start;
                _kernels.Accumulate(group, Config.Batch, _whole, gzOnGrid, ref dense);
                _kernels.End(group, _whole);
                break;
            }
            case Phase.Update:
                RecordNonFinite(g, Update(g, _whole));
                break;
            case Phase.Step:
            {
                _kernels.Begin(group, _whole);
                var dense = DenseSums.Start;
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
                    bool gzOnGrid = _kernels.Loss(block, rows, gradient: true);
                    _kernels.HiddenGradient(block, rows, gzOnGrid);
                    _kernels.Accumulate(block, rows, _whole, gzOnGrid, ref dense);
                }
                _kernels.End(group, _whole);
                RecordNonFinite(g, Update(g, _whole));
                break;
            }
            case Phase.Evaluate:
                GenerateGroup(g, thread);
                _kernels.Forward(group, Rows);
                _kernels.Loss(group, Rows, gradient: false);
                break;
        }
    }

    /// <summary>
    /// One thread's share of a pipelined step: it takes the step's tasks in a fixed order (<see cref="PipelineTask"/>) until none
    /// is left, each task once. A rows task (generate, forward, loss, g_h of one block into a block buffer) waits until the
    /// buffer's last block is summed; a sums task (the block's terms in the gradients, and after a group's last block its
    /// update) waits for its rows and for the block before it. Every task waits only for tasks earlier in the order,
    /// which other threads have taken and are running, so the step finishes on any number of threads, one included;
    /// and the sums run block after block in ascending rows, the reference's order.
    /// </summary>
    private void Pipeline(int thread)
    {
        int blocks = _groups * _rowBlocks, buffers = _block.Length, stamp = _pipelineStep;
        for (int t = Interlocked.Increment(ref _tasks) - 1; t < 2 * blocks; t = Interlocked.Increment(ref _tasks) - 1)
        {
            var (rows, k) = PipelineTask(t, blocks, buffers);
            var spin = new SpinWait();
            if (rows)
            {
                while (Volatile.Read(ref _accumulated) <= k - buffers) spin.SpinOnce(sleep1Threshold: -1);
                RowsOfBlock(k, thread);
                Volatile.Write(ref _rowsDone[k], stamp);
            }
            else
            {
                while (Volatile.Read(ref _rowsDone[k]) != stamp || Volatile.Read(ref _accumulated) != k) spin.SpinOnce(sleep1Threshold: -1);
                SumsOfBlock(k);
                Volatile.Write(ref _accumulated, k + 1);
            }
        }
    }

    /// <summary>
    /// Task t of a pipelined step of <paramref name="blocks"/> blocks (all groups' row blocks in order): the rows of the
    /// first blocks, then the sums of block j alternating with the rows of block j + lead, then the last sums. The rows run
    /// ahead by lead = buffers - 1 blocks, so a rows task never waits for a buffer while the sums have work.
    /// </summary>
    internal static (bool Rows, int Block) PipelineTask(int t, int blocks, int buffers)
    {
        int lead = Math.Min(buffers - 1, blocks);
        if (t < lead) return (true, t);
        int u = t - lead, j = u / 2;
        if (j < blocks - lead) return (u % 2 == 1, u % 2 == 1 ? j + lead : j);
        return (false, blocks - lead + (u - 2 * (blocks - lead)));
    }

    /// <summary>Block k's rows (group k / blocks per batch): x, h, z, the row losses, g_z and g_h, in block buffer k mod buffers.</summary>
    private void RowsOfBlock(int k, int thread)
    {
        var (g, block, first, rows) = PipelineBlock(k);
        Generate(g, block.X, first, rows, thread);
        _kernels.Forward(block, rows);
        bool gzOnGrid = _kernels.Loss(block, rows, gradient: true);
        _kernels.HiddenGradient(block, rows, gzOnGrid);
        _blockOnGrid[k % _block.Length] = gzOnGrid;
    }

    /// <summary>Block k's terms in its group's gradients; after the group's last block, its update.</summary>
    private void SumsOfBlock(int k)
    {
        var (g, block, first, rows) = PipelineBlock(k);
        if (first == 0)
        {
            _kernels.Begin(_group[g], _whole);
            _dense = DenseSums.Start;
        }
        _kernels.Accumulate(block, rows, _whole, _blockOnGrid[k % _block.Length], ref _dense);
        if (first + rows == Config.Batch)
        {
            _kernels.End(_group[g], _whole);
            RecordNonFinite(g, Update(g, _whole));
        }
    }

    private (int Group, LaneGroup Block, int First, int Rows) PipelineBlock(int k)
    {
        int g = k / _rowBlocks, first = k % _rowBlocks * _blockRows;
        var buffer = _block[k % _block.Length];
        var block = _group[g] with
        {
            X = buffer.X, H = buffer.H, Z = buffer.Z, Gz = buffer.Gz, Gh = buffer.Gh, RowLoss = _group[g].RowLoss + (nint)first * _lanes,
        };
        return (g, block, first, Math.Min(_blockRows, Config.Batch - first));
    }

    private void GenerateGroup(int g, int thread) => Generate(g, _group[g].X, _firstSample, Rows, thread);

    /// <summary>x of every instance of group g for samples first .. first + rows - 1, into rows 0 .. rows - 1 of <paramref name="x"/>.</summary>
    private void Generate(int g, float* x, long first, int rows, int thread) =>
        _kernels.Generate(_group[g], x, rows, first, _step, _evaluation, _stream[thread]);

    private uint Update(int g, GradientPiece piece) =>
        _kernels.Update(_group[g], piece, _scalars!, _negativeStepSize + g * _lanes, _decay + g * _lanes);

    private void RecordNonFinite(int g, uint lanes)
    {
        for (int l = 0; l < _lanes && g * _lanes + l < Instances; l++)
            if ((lanes & (1u << l)) != 0 && _firstNonFinite[g * _lanes + l] < 0) _firstNonFinite[g * _lanes + l] = _scalars!.Step;
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
            case TensorKind.RowLoss: ExportLosses(rows, destination); break;
            case TensorKind.Gradients: Export(g => (nint)_group[g].Gradients, 0, destination); break;
        }
    }

    private void ExportRows(Func<int, nint> tensor, int width, int rows, Span<float> destination)
    {
        for (int s = 0; s < Instances; s++)
        {
            float* lanes = (float*)tensor(s / _lanes) + s % _lanes;
            for (int r = 0; r < rows; r++)
                for (int e = 0; e < width; e++)
                    destination[(s * rows + r) * width + e] = lanes[Panels.Offset(r, e, width, _lanes)];
        }
    }

    private void ExportLosses(int rows, Span<float> destination)
    {
        for (int s = 0; s < Instances; s++)
            for (int r = 0; r < rows; r++)
                destination[s * rows + r] = *Element(_group[s / _lanes].RowLoss, r, s);
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
