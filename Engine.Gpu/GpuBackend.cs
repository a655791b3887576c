using ILGPU;
using ILGPU.Runtime;
using ToyModels.Backends;
using ToyModels.Data;
using ToyModels.Gpu.Devices;
using ToyModels.Gpu.Kernels;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Gpu;

/// <summary>
/// The backend of every ILGPU accelerator (CUDA, OpenCL, the CPU accelerator): all training state lives
/// in device buffers for the whole run, and each operation is a short sequence of typed kernel launches
/// on one stream; the host reads back only what it is asked for. Bits are the reference's
/// (docs/numerics.md); the kernels (Kernels/) say how.
/// </summary>
/// <remarks>
/// A training step is 14 launches (13 without bias), all instances in each: generate x; x's row lists
/// (count, write); encoder; decoder; loss and g_z; g_z's row and column lists and x's column lists
/// (count, write each); g_b; g_h; both weight gradients; the optimizer, whose per-instance scalars
/// travel in its arguments. No step copies anything between host and device.
/// </remarks>
internal sealed class GpuBackend : Backend
{
    private readonly GpuDevice _device;
    private readonly TrainingKernels _kernels;
    private readonly KernelGeometry _geometry;
    private readonly AcceleratorStream _stream;
    private readonly DeviceLayout _layout;
    private readonly List<IDisposable> _owned = [];

    private readonly MemoryBuffer1D<float, Stride1D.Dense> _parameters, _gradients, _state;   // device layout; state: slots x layout
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _x, _z, _gz, _h, _gh, _rowLoss;     // [k][B][width]; rowLoss [k][rows]
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _xRowIndex, _xRowCount, _gzRowIndex, _gzRowCount;          // [k][B][n], [k][B]
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _xColumnIndex, _xColumnCount, _gzColumnIndex, _gzColumnCount; // [k][n][B], [k][n]
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _chunkCounts;                         // scratch of the list kernels
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _importance, _gradScale;           // [k][n]
    private readonly MemoryBuffer1D<uint, Stride1D.Dense> _keys, _firstNonFinite;              // [k][2], [k]
    private readonly MemoryBuffer1D<ulong, Stride1D.Dense> _thresholds;                        // [k]

    /// <summary>Allocates everything on <paramref name="device"/> (zeroed) and loads the training program there if it is not yet.</summary>
    public GpuBackend(AutoencoderConfig config, GpuDevice device) : base(config)
    {
        CheckSizes(config, device.BackendName);
        if (device.Kind != GpuKind.CpuAccelerator)
            MemoryCheck.RequireDevice(new MemoryEstimate(Memory(config, device.Kind)), device.Accelerator.MemorySize, device.Description,
                $"n {config.N}, m {config.M}, batch {config.Batch}, {config.InstanceCount} instance(s) on {device.BackendName}");
        _device = device;
        _geometry = device.Geometry;
        _layout = new DeviceLayout(Layout);
        lock (device.Sync)
        {
            device.Accelerator.Bind();
            try
            {
                _kernels = device.Kernels;
                _stream = Own(device.Accelerator.CreateStream());
                long k = Instances, b = config.Batch, n = config.N, m = config.M;
                _parameters = Floats(Layout.Total);
                _gradients = Floats(Layout.Total);
                _state = Floats((long)config.Optimizer.StateSlots * Layout.Total);
                _x = Floats(k * b * n);
                _z = Floats(k * b * n);
                _gz = Floats(k * b * n);
                _h = Floats(k * b * m);
                _gh = Floats(k * b * m);
                _rowLoss = Floats(k * b);
                _xRowIndex = Integers(k * b * n);
                _xRowCount = Integers(k * b);
                _gzRowIndex = Integers(k * b * n);
                _gzRowCount = Integers(k * b);
                _xColumnIndex = Integers(k * n * b);
                _xColumnCount = Integers(k * n);
                _gzColumnIndex = Integers(k * n * b);
                _gzColumnCount = Integers(k * n);
                int chunk = _geometry.ListChunk;
                _chunkCounts = Integers(k * Math.Max(b * NonzeroListKernels.Chunks(config.N, chunk), n * NonzeroListKernels.Chunks(config.Batch, chunk)));

                var constants = new InstanceConstants(config);
                var keys = new uint[2 * k];
                for (int s = 0; s < Instances; s++) (keys[2 * s], keys[2 * s + 1]) = Philox.Key(constants.Seed[s]);
                _keys = Upload(keys);
                _thresholds = Upload(constants.Threshold);
                _importance = Upload(constants.Importance);
                _gradScale = Upload(constants.GradScale);
                _firstNonFinite = Own(device.Accelerator.Allocate1D<uint>(Math.Max(1, k)));
                ResetFirstNonFinite();
                _stream.Synchronize();
            }
            catch
            {
                Release();
                throw;
            }
        }
    }

    /// <summary>
    /// Elements of one buffer the kernels can address: they index with 32-bit ints (every index a kernel computes,
    /// intermediate products included, stays below the size of the buffer it addresses), and the margin of 2^16 leaves
    /// room for positions a tile or a group rounded up numbers past a buffer's end (one-output launches number their
    /// work-items in 64 bits, <see cref="Kernels.WorkItem"/>).
    /// </summary>
    public const long MaxBufferElements = int.MaxValue - ushort.MaxValue;

    /// <summary>Refuses a run with a buffer the kernels cannot address (<see cref="MaxBufferElements"/>), naming it.</summary>
    public static void CheckSizes(AutoencoderConfig config, string backend)
    {
        var (name, elements) = Buffers(config).MaxBy(b => b.Elements);
        if (elements > MaxBufferElements)
            throw new ConfigException("AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Batch, AutoencoderConfig.Instances", $"{config.N}, {config.M}, {config.Batch}, {config.InstanceCount} ({name} {elements} elements)",
                $"at most {MaxBufferElements} (2^31 - 2^16) elements per buffer on {backend} (its kernels index with 32-bit ints; the simd backend has no such limit)");
    }

    /// <summary>The buffers the constructor allocates, 4-byte elements each (one at least: OpenCL refuses empty buffers).</summary>
    private static IEnumerable<(string Name, long Elements)> Buffers(AutoencoderConfig config)
    {
        long k = config.InstanceCount, b = config.Batch, n = config.N, m = config.M, total = config.Layout.Total;
        long chunk = KernelGeometry.Gpu.ListChunk;
        yield return ("parameters", total);
        yield return ("gradients", total);
        yield return ("optimizer state", Math.Max(1, config.Optimizer.StateSlots * total));
        yield return ("x, z, g_z and their row and column lists", k * b * n);
        yield return ("h, g_h", k * b * m);
        yield return ("chunk counts of the lists", k * Math.Max(b * ((n + chunk - 1) / chunk), n * ((b + chunk - 1) / chunk)));
    }

    /// <summary>
    /// Its memory: the buffers on the device (on the host for the CPU accelerator), and on the host the staging
    /// copies of a transfer of parameters or state, which crosses as the whole instance blocks a piece of the
    /// streaming buffer touches, in both layouts.
    /// </summary>
    public static IEnumerable<MemoryPart> Memory(AutoencoderConfig config, GpuKind kind)
    {
        var place = kind == GpuKind.CpuAccelerator ? MemoryPlace.Host : MemoryPlace.Device;
        long k = config.InstanceCount, b = config.Batch, n = config.N, m = config.M, per = config.Layout.PerInstance;
        var buffers = Buffers(config).ToDictionary(x => x.Name, x => x.Elements);
        yield return new("parameters and gradients", 4 * (buffers["parameters"] + buffers["gradients"]), place);
        yield return new("optimizer state", 4 * buffers["optimizer state"], place);
        yield return new("x, z, g_z, h, g_h, row losses", 4 * k * b * (3 * n + 2 * m + 1), place);
        yield return new("nonzero lists", 4 * (4 * k * b * n + 2 * k * b + 2 * k * n + buffers["chunk counts of the lists"]), place);
        yield return new("instance constants", 8 * k + 8 * k + 8 * k * n + 4 * k, place);
        long piece = StreamBuffer.Bytes(config.Layout.Total) / 4;
        yield return new("staging of parameter transfers", 2 * 4 * Math.Min(k, piece / per + 2) * per);
    }

    /// <summary>An instance's block, which the kernels index with ints (<see cref="CheckSizes"/> holds every buffer below 2^31).</summary>
    private int PerInstance => (int)Layout.PerInstance;

    public override string Name => _device.BackendName;
    public override string Description => _device.Description;

    private T Own<T>(T resource) where T : IDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    /// <summary>A zeroed buffer of at least one element (OpenCL refuses empty buffers).</summary>
    private MemoryBuffer1D<float, Stride1D.Dense> Floats(long count)
    {
        var buffer = Own(_device.Accelerator.Allocate1D<float>(Math.Max(1, count)));
        buffer.MemSetToZero(_stream);
        return buffer;
    }

    private MemoryBuffer1D<int, Stride1D.Dense> Integers(long count)
    {
        var buffer = Own(_device.Accelerator.Allocate1D<int>(Math.Max(1, count)));
        buffer.MemSetToZero(_stream);
        return buffer;
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] values) where T : unmanaged
    {
        var buffer = Own(_device.Accelerator.Allocate1D<T>(Math.Max(1, values.Length)));
        if (values.Length > 0) buffer.View.SubView(0, values.Length).CopyFromCPU(_stream, values);
        return buffer;
    }

    /// <summary>Runs <paramref name="action"/> with the device to itself and bound to this thread.</summary>
    private void OnDevice(Action action)
    {
        ThrowIfDisposed();
        lock (_device.Sync)
        {
            _device.Accelerator.Bind();
            action();
        }
    }

    // ---- state in and out ----------------------------------------------------------------------

    protected override void WriteParametersCore(long start, ReadOnlySpan<float> source) => WriteLayout(_parameters, start, source, resetNonFinite: true);
    protected override void ReadParametersCore(long start, Span<float> destination) => ReadLayout(_parameters, start, destination);
    protected override void WriteOptimizerStateCore(long start, ReadOnlySpan<float> source) => WriteLayout(_state, start, source, resetNonFinite: false);
    protected override void ReadOptimizerStateCore(long start, Span<float> destination) => ReadLayout(_state, start, destination);

    // The device layout transposes each instance's encoder, so a range crosses as the whole instance blocks it
    // touches (a buffer of the state is StateSlots x instances consecutive blocks); a range that does not cover
    // them reads them first.
    private void WriteLayout(MemoryBuffer1D<float, Stride1D.Dense> buffer, long start, ReadOnlySpan<float> host, bool resetNonFinite)
    {
        var (first, canonical, device) = Blocks(start, host.Length);
        long offset = first * Layout.PerInstance;
        bool partial = start != offset || host.Length != canonical.Length;
        if (partial)
        {
            OnDevice(() => Read(buffer, offset, device.AsSpan()));
            _layout.ToHost(device, canonical);
        }
        host.CopyTo(canonical.AsSpan((int)(start - offset)));
        _layout.ToDevice(canonical, device);
        OnDevice(() =>
        {
            buffer.View.SubView(offset, device.Length).CopyFromCPU(_stream, device);
            if (resetNonFinite) ResetFirstNonFinite();
            _stream.Synchronize();
        });
    }

    private void ReadLayout(MemoryBuffer1D<float, Stride1D.Dense> buffer, long start, Span<float> host)
    {
        var (first, canonical, device) = Blocks(start, host.Length);
        long offset = first * Layout.PerInstance;
        OnDevice(() => Read(buffer, offset, device.AsSpan()));
        _layout.ToHost(device, canonical);
        canonical.AsSpan((int)(start - offset), host.Length).CopyTo(host);
    }

    /// <summary>The first instance block a range touches, and host copies of all it touches in both layouts.</summary>
    private (long First, float[] Canonical, float[] Device) Blocks(long start, int length)
    {
        long per = Layout.PerInstance, first = start / per, last = (start + length - 1) / per;
        long floats = (last - first + 1) * per;
        return (first, new float[floats], new float[floats]);
    }

    /// <summary>
    /// Copies device elements [offset, offset + destination.Length) to the host and waits for them. The span overload pins the destination
    /// for the whole copy; ILGPU's <c>ref T</c> overload takes a raw pointer to it unpinned, so a garbage
    /// collection in between (another thread allocating is enough) moves the array, the copy lands in freed
    /// heap and the caller reads zeros (seen as a flaky all-zero row loss on the CPU accelerator).
    /// </summary>
    private void Read<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, long offset, Span<T> destination) where T : unmanaged
    {
        if (destination.IsEmpty) return;
        buffer.View.SubView(offset, destination.Length).CopyToCPU(_stream, destination);
        _stream.Synchronize();
    }

    private void ResetFirstNonFinite()
    {
        var none = new uint[Math.Max(1, Instances)];
        Array.Fill(none, OptimizerKernels.NoStep);
        _firstNonFinite.View.CopyFromCPU(_stream, none);
    }

    protected override void ReadFirstNonFiniteStepCore(Span<long> firstStep)
    {
        var steps = new uint[Instances];
        OnDevice(() => Read(_firstNonFinite, 0, steps.AsSpan()));
        for (int s = 0; s < Instances; s++) firstStep[s] = steps[s] == OptimizerKernels.NoStep ? -1 : steps[s];
    }

    protected override void ReadCore(TensorKind tensor, Span<float> destination)
    {
        if (tensor == TensorKind.Gradients)
        {
            ReadLayout(_gradients, 0, destination);
            return;
        }
        var buffer = tensor switch
        {
            TensorKind.X => _x,
            TensorKind.Z => _z,
            TensorKind.H => _h,
            _ => _rowLoss,
        };
        int width = tensor == TensorKind.H ? Config.M : Config.N;
        var copy = new float[destination.Length];
        OnDevice(() =>
        {
            if (tensor == TensorKind.RowLoss) Read(_rowLoss, 0, copy.AsSpan());
            else ReadRows(buffer, width, copy);
        });
        copy.CopyTo(destination);
    }

    /// <summary>The first <see cref="Backend.Rows"/> rows of each instance of an activation buffer [k][B][width].</summary>
    private void ReadRows(MemoryBuffer1D<float, Stride1D.Dense> buffer, int width, float[] destination)
    {
        int rows = Rows, batch = Config.Batch;
        if (rows == batch)
        {
            Read(buffer, 0, destination.AsSpan());
            return;
        }
        for (int s = 0; s < Instances; s++)
            Read(buffer, (long)s * batch * width, destination.AsSpan(s * rows * width, rows * width));
    }

    // ---- the operations ------------------------------------------------------------------------

    protected override void GenerateBatchCore(long step) => OnDevice(() => Generate((uint)step, 0, Config.Batch, evaluation: false));

    protected override void ForwardCore() => OnDevice(QueueForward);

    protected override void BackwardCore() => OnDevice(QueueBackward);

    protected override void UpdateCore(OptimizerScalars scalars) => OnDevice(() => QueueUpdate(scalars));

    /// <summary>
    /// Queues the four operations without waiting: the host runs ahead until it reads something back.
    /// Whoever times steps must stop the clock after a read (the trainer stops it after its loss read).
    /// </summary>
    protected override void StepCore(OptimizerScalars scalars) => OnDevice(() =>
    {
        Generate((uint)scalars.Step, 0, Config.Batch, evaluation: false);
        QueueForward();
        QueueBackward();
        QueueUpdate(scalars);
    });

    protected override void EvaluateCore(long firstSample, int count, Span<float> rowLoss)
    {
        var losses = new float[rowLoss.Length];
        OnDevice(() =>
        {
            Generate(0, (uint)firstSample, count, evaluation: true);
            QueueForward();
            Loss(count, withGradient: false);
            Read(_rowLoss, 0, losses.AsSpan());
        });
        losses.CopyTo(rowLoss);
    }

    private static long Groups(long items, int perGroup) => (items + perGroup - 1) / perGroup;

    /// <summary>x for samples firstSample .. firstSample + rows - 1, and its row lists.</summary>
    private void Generate(uint step, uint firstSample, int rows, bool evaluation)
    {
        int n = Config.N;
        _kernels.Generate.Launch(_stream, Groups((long)rows * ((n + 3) / 4), _geometry.Group), _geometry.Group, Instances, new GenerateArguments
        {
            X = _x.View, Keys = _keys.View, Thresholds = _thresholds.View,
            N = n, Batch = Config.Batch, Rows = rows, Step = step, FirstSample = firstSample,
            MaskStream = evaluation ? DataStream.EvalMask : DataStream.TrainMask,
            ValueStream = evaluation ? DataStream.EvalValue : DataStream.TrainValue,
        });
        Lists(_x, _xRowIndex, _xRowCount, rows, columns: false);
    }

    /// <summary>The nonzero lists of the first <paramref name="rows"/> rows, per row or per column.</summary>
    private void Lists(MemoryBuffer1D<float, Stride1D.Dense> values, MemoryBuffer1D<int, Stride1D.Dense> index,
        MemoryBuffer1D<int, Stride1D.Dense> count, int rows, bool columns)
    {
        int chunk = _geometry.ListChunk;
        long lines = columns ? Config.N : rows;
        long items = lines * NonzeroListKernels.Chunks(columns ? rows : Config.N, chunk);
        var arguments = new NonzeroListArguments
        {
            Values = values.View, ChunkCounts = _chunkCounts.View, Index = index.View, Count = count.View,
            Width = Config.N, Batch = Config.Batch, Rows = rows, Columns = columns ? 1 : 0, Chunk = chunk,
        };
        long groups = Groups(items, _geometry.Group);
        _kernels.NonzeroCount.Launch(_stream, groups, _geometry.Group, Instances, arguments);
        _kernels.NonzeroWrite.Launch(_stream, groups, _geometry.Group, Instances, arguments);
    }

    private void QueueForward()
    {
        int n = Config.N, m = Config.M, rows = Rows;
        _kernels.Encoder.Launch(_stream, Groups((long)rows * m, _geometry.Group), _geometry.Group, Instances, new EncoderArguments
        {
            Parameters = _parameters.View, X = _x.View, XRowIndex = _xRowIndex.View, XRowCount = _xRowCount.View, H = _h.View,
            N = n, M = m, Batch = Config.Batch, Rows = rows, InstanceParameters = PerInstance,
        });
        QueueDecoder();
    }

    /// <summary>
    /// The decoder product alone, <paramref name="times"/> launches on the h in place, waited for: what
    /// <c>measure decoder</c> times against torch.matmul.
    /// </summary>
    internal void Decode(int times) => OnDevice(() =>
    {
        for (int t = 0; t < times; t++) QueueDecoder();
        _stream.Synchronize();
    });

    private void QueueDecoder()
    {
        int n = Config.N, m = Config.M, rows = Rows;
        long tiles = Groups(rows, _geometry.DecoderTileRows) * Groups(n, _geometry.DecoderTileFeatures);
        _kernels.Decoder.Launch(_stream, tiles, _geometry.DecoderGroup, Instances, new DecoderArguments
        {
            Parameters = _parameters.View, H = _h.View, Z = _z.View,
            N = n, M = m, Batch = Config.Batch, Rows = rows, InstanceParameters = PerInstance,
            DecoderOffset = _layout.DecoderOffset, BiasOffset = _layout.BiasOffset, HasBias = Config.Bias ? 1 : 0,
            ThreadsRows = _geometry.DecoderThreadsRows, ThreadsFeatures = _geometry.DecoderThreadsFeatures,
        });
    }

    private void Loss(int rows, bool withGradient)
    {
        int perRow = _geometry.LossThreadsPerRow, group = _geometry.Group;
        _kernels.Loss.Launch(_stream, Groups(rows, group / perRow), group, Instances, new LossArguments
        {
            Z = _z.View, X = _x.View, Importance = _importance.View, GradScale = _gradScale.View, RowLoss = _rowLoss.View, Gz = _gz.View,
            N = Config.N, Batch = Config.Batch, Rows = rows, WithGradient = withGradient ? 1 : 0, ThreadsPerRow = perRow,
        });
    }

    private void QueueBackward()
    {
        int n = Config.N, m = Config.M, batch = Config.Batch, group = _geometry.Group;
        Loss(batch, withGradient: true);
        Lists(_gz, _gzRowIndex, _gzRowCount, batch, columns: false);
        Lists(_gz, _gzColumnIndex, _gzColumnCount, batch, columns: true);
        Lists(_x, _xColumnIndex, _xColumnCount, batch, columns: true);
        var arguments = new GradientArguments
        {
            Parameters = _parameters.View, Gradients = _gradients.View, X = _x.View, Gz = _gz.View, H = _h.View, Gh = _gh.View,
            GzRowIndex = _gzRowIndex.View, GzRowCount = _gzRowCount.View, GzColumnIndex = _gzColumnIndex.View, GzColumnCount = _gzColumnCount.View,
            XColumnIndex = _xColumnIndex.View, XColumnCount = _xColumnCount.View,
            N = n, M = m, Batch = batch, InstanceParameters = PerInstance,
            DecoderOffset = _layout.DecoderOffset, BiasOffset = _layout.BiasOffset, Tied = Config.Tied ? 1 : 0,
        };
        if (Config.Bias) _kernels.BiasGradient.Launch(_stream, Groups(n, group), group, Instances, arguments);
        _kernels.DecoderInputGradient.Launch(_stream, Groups((long)batch * m, group), group, Instances, arguments);
        _kernels.WeightGradients.Launch(_stream, Groups((long)n * m, group), group, Instances, arguments);
    }

    private void QueueUpdate(OptimizerScalars scalars)
    {
        var launcher = scalars.Kind == OptimizerKind.Sgd ? _kernels.Sgd : _kernels.Adam;
        long groups = Groups(Layout.PerInstance, _geometry.Group);
        for (int first = 0; first < Instances; first += Block8.Size)
        {
            int count = Math.Min(Block8.Size, Instances - first);
            long offset = (long)first * Layout.PerInstance;
            var arguments = new OptimizerArguments
            {
                Parameters = From(_parameters, offset), Gradients = From(_gradients, offset), State = From(_state, offset),
                FirstNonFinite = From(_firstNonFinite, first),
                InstanceParameters = PerInstance, Total = (int)Layout.Total, Step = (uint)scalars.Step,
                NegativeStepSize = Eight(scalars.StepSize, first, negate: true), DecayFactor = Eight(scalars.DecayFactor, first, negate: false),
                Beta1 = scalars.Beta1, Beta2 = scalars.Beta2, OneMinusBeta1 = scalars.OneMinusBeta1, OneMinusBeta2 = scalars.OneMinusBeta2,
                Eps = scalars.Eps, L2 = scalars.L2, BiasCorrection2Sqrt = scalars.BiasCorrection2Sqrt, Momentum = scalars.Momentum,
                HasL2 = scalars.L2 != 0f ? 1 : 0, Decoupled = scalars.Kind == OptimizerKind.AdamW ? 1 : 0, HasMomentum = scalars.Momentum != 0f ? 1 : 0,
            };
            launcher.Launch(_stream, groups, _geometry.Group, count, arguments);
        }
    }

    /// <summary>The buffer from element <paramref name="offset"/> on (the whole of an unused one-element buffer, such as SGD's state without momentum).</summary>
    private static ArrayView<T> From<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, long offset) where T : unmanaged =>
        offset < buffer.Length ? buffer.View.SubView(offset, buffer.Length - offset) : buffer.View;

    /// <summary>Values first .. first + 7 of a per-instance array (zeros past its end), negated exactly when asked.</summary>
    private static Block8 Eight(float[] values, int first, bool negate)
    {
        float At(int k) => first + k < values.Length ? (negate ? -values[first + k] : values[first + k]) : 0f;
        return new Block8 { V0 = At(0), V1 = At(1), V2 = At(2), V3 = At(3), V4 = At(4), V5 = At(5), V6 = At(6), V7 = At(7) };
    }

    private void Release()
    {
        for (int e = _owned.Count - 1; e >= 0; e--) _owned[e].Dispose();
        _owned.Clear();
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        lock (_device.Sync)
        {
            _device.Accelerator.Bind();
            _stream?.Synchronize();
            Release();
        }
    }
}
