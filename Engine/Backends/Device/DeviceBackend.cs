using System.Runtime.InteropServices;
using ToyModels.Backends.Kernels;
using ToyModels.Data;
using ToyModels.Model;

namespace ToyModels.Backends.Device;

/// <summary>
/// The backend of every GPU runtime: all training state lives in device buffers for the whole run,
/// and each operation is a short sequence of launches of the training kernels
/// (<see cref="KernelSource"/>); the host reads back only what it is asked for. The runtime
/// (<see cref="IComputeDevice"/>) is only plumbing, so OpenCL and CUDA share every line here.
/// </summary>
/// <remarks>
/// A step is 12 launches (11 without bias), all instances in each: generate x, list x's nonzeros
/// per row, encoder, decoder, loss and g_z, list g_z's nonzeros per row and per column, list x's
/// nonzeros per column, bias gradient, g_h, both weight gradients, the optimizer. Bits are the
/// reference's (docs/numerics.md); the kernels say how.
/// </remarks>
internal sealed class DeviceBackend : Backend
{
    private const uint NoStep = uint.MaxValue;

    private readonly IComputeDevice _device;
    private readonly DeviceLayout _layout;
    private readonly List<IDisposable> _owned = [];
    private readonly DeviceKernel _generate, _compactRows, _compactColumns, _encoder, _decoder, _loss,
        _biasGradient, _decoderInputGradient, _weightGradients, _update;

    private readonly DeviceBuffer _parameters, _gradients, _state;           // device layout; state: slots x layout
    private readonly DeviceBuffer _x, _z, _gz, _h, _gh, _rowLoss;             // [k][B][width]; rowLoss [k][rows]
    private readonly DeviceBuffer _xRowIndex, _xRowCount, _gzRowIndex, _gzRowCount;                 // [k][B][n], [k][B]
    private readonly DeviceBuffer _xColumnIndex, _xColumnCount, _gzColumnIndex, _gzColumnCount;     // [k][n][B], [k][n]
    private readonly DeviceBuffer _keys, _thresholds, _importance, _gradScale, _stepScalars, _firstNonFinite;

    private readonly float[] _hostStepScalars;   // [k][2]: StepSize, DecayFactor

    /// <summary>Takes ownership of <paramref name="device"/>, also when the constructor throws.</summary>
    public DeviceBackend(AutoencoderConfig config, IComputeDevice device) : base(config)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        if (config.OptimizerStateLength() > int.MaxValue || (long)config.InstanceCount * config.Batch * config.N > int.MaxValue)
        {
            device.Dispose();
            throw new ConfigException("n, m, batch, instances", $"{config.N}, {config.M}, {config.Batch}, {config.InstanceCount}",
                $"at most {int.MaxValue} floats per buffer on {device.BackendName} (its kernels index with 32-bit ints)");
        }
        _layout = new DeviceLayout(Layout);
        try
        {
            _generate = Kernel(KernelSource.GenerateBatch);
            _compactRows = Kernel(KernelSource.CompactRows);
            _compactColumns = Kernel(KernelSource.CompactColumns);
            _encoder = Kernel(KernelSource.EncoderForward);
            _decoder = Kernel(KernelSource.DecoderForward);
            _loss = Kernel(KernelSource.Loss);
            _biasGradient = Kernel(KernelSource.BiasGradient);
            _decoderInputGradient = Kernel(KernelSource.DecoderInputGradient);
            _weightGradients = Kernel(KernelSource.WeightGradients);
            _update = Kernel(config.Optimizer.Kind == OptimizerKind.Sgd ? KernelSource.SgdUpdate : KernelSource.AdamUpdate);

            long k = Instances, b = config.Batch, n = config.N, m = config.M;
            _parameters = Words(Layout.Total);
            _gradients = Words(Layout.Total);
            _state = Words((long)config.Optimizer.StateSlots * Layout.Total);
            _x = Words(k * b * n);
            _z = Words(k * b * n);
            _gz = Words(k * b * n);
            _h = Words(k * b * m);
            _gh = Words(k * b * m);
            _rowLoss = Words(k * b);
            _xRowIndex = Words(k * b * n);
            _xRowCount = Words(k * b);
            _gzRowIndex = Words(k * b * n);
            _gzRowCount = Words(k * b);
            _xColumnIndex = Words(k * n * b);
            _xColumnCount = Words(k * n);
            _gzColumnIndex = Words(k * n * b);
            _gzColumnCount = Words(k * n);

            var constants = new InstanceConstants(config);
            var keys = new uint[2 * k];
            for (int s = 0; s < Instances; s++) (keys[2 * s], keys[2 * s + 1]) = Philox.Key(constants.Seed[s]);
            _keys = Upload<uint>(keys);
            _thresholds = Upload<ulong>(constants.Threshold);
            _importance = Upload<float>(constants.Importance);
            _gradScale = Upload<float>(constants.GradScale);
            _hostStepScalars = new float[2 * k];
            _stepScalars = Words(2 * k);
            _firstNonFinite = Words(k);
            ResetFirstNonFinite();
        }
        catch
        {
            Dispose(true);
            throw;
        }
    }

    /// <summary>
    /// Its buffers on the device, and on the host the staging copies of a transfer of parameters or state (the
    /// instance blocks a range touches, in both layouts).
    /// </summary>
    public static IEnumerable<Memory.MemoryPart> Memory(AutoencoderConfig config)
    {
        long k = config.InstanceCount, b = config.Batch, n = config.N, m = config.M, total = config.Layout.Total;
        const Memory.MemoryPlace device = ToyModels.Memory.MemoryPlace.Device;
        yield return new("parameters and gradients", 2 * 4 * total, device);
        yield return new("optimizer state", 4 * config.OptimizerStateLength(), device);
        yield return new("activations and their nonzero lists", 4 * k * b * (3 * n + 2 * m + 1) + 4 * (4 * k * b * n + 2 * k * b + 2 * k * n), device);
        yield return new("instance constants", 4 * k * (2 + 2 + 2 * n + 2 + 1), device);
        yield return new("staging of parameter transfers", 2 * 4 * 2 * config.Layout.PerInstance);
    }

    /// <summary>The training kernels index with 32-bit ints (checked in the constructor).</summary>
    private int PerInstance => (int)Layout.PerInstance;

    public override string Name => _device.BackendName;
    public override string Description => _device.Description;

    private DeviceKernel Kernel(string name)
    {
        var kernel = _device.Kernel(name);
        _owned.Add(kernel);
        int needed = KernelSource.Kernels.First(known => known.Name == name).GroupSize;
        if (kernel.MaxGroupSize < needed)
            throw new BackendUnavailableException($"{_device.BackendName}: {_device.Description} runs kernel {name} with at most " +
                $"{kernel.MaxGroupSize} work-items per group; it needs {needed}");
        return kernel;
    }

    /// <summary>A zeroed buffer of <paramref name="count"/> 4-byte words (float or u32); at least one, as OpenCL refuses empty buffers.</summary>
    private DeviceBuffer Words(long count)
    {
        var buffer = _device.Allocate(4 * Math.Max(1, count));
        _owned.Add(buffer);
        return buffer;
    }

    private DeviceBuffer Upload<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values);
        var buffer = _device.Allocate(Math.Max(4, bytes.Length));
        _owned.Add(buffer);
        _device.Write(buffer, 0, bytes);
        return buffer;
    }

    // ---- state in and out ----------------------------------------------------------------------

    protected override void WriteParametersCore(long start, ReadOnlySpan<float> source)
    {
        WriteLayout(_parameters, start, source);
        ResetFirstNonFinite();
    }

    protected override void ReadParametersCore(long start, Span<float> destination) => ReadLayout(_parameters, start, destination);
    protected override void WriteOptimizerStateCore(long start, ReadOnlySpan<float> source) => WriteLayout(_state, start, source);
    protected override void ReadOptimizerStateCore(long start, Span<float> destination) => ReadLayout(_state, start, destination);

    // The device layout transposes each instance's encoder, so a range crosses as the whole instance blocks it
    // touches (a buffer of the state is StateSlots x instances consecutive blocks).
    private void WriteLayout(DeviceBuffer buffer, long start, ReadOnlySpan<float> host)
    {
        var (first, canonical, device) = Blocks(start, host.Length);
        long offset = 4 * first * Layout.PerInstance;
        if (start != first * Layout.PerInstance || host.Length != canonical.Length)
        {
            _device.Read(buffer, offset, MemoryMarshal.AsBytes(device.AsSpan()));
            _layout.ToHost(device, canonical);
        }
        host.CopyTo(canonical.AsSpan((int)(start - first * Layout.PerInstance)));
        _layout.ToDevice(canonical, device);
        _device.Write(buffer, offset, MemoryMarshal.AsBytes(device.AsSpan()));
    }

    private void ReadLayout(DeviceBuffer buffer, long start, Span<float> host)
    {
        var (first, canonical, device) = Blocks(start, host.Length);
        _device.Read(buffer, 4 * first * Layout.PerInstance, MemoryMarshal.AsBytes(device.AsSpan()));
        _layout.ToHost(device, canonical);
        canonical.AsSpan((int)(start - first * Layout.PerInstance), host.Length).CopyTo(host);
    }

    private (long First, float[] Canonical, float[] Device) Blocks(long start, int length)
    {
        long per = Layout.PerInstance, first = start / per, last = (start + length - 1) / per;
        long floats = (last - first + 1) * per;
        return (first, new float[floats], new float[floats]);
    }

    private void ResetFirstNonFinite()
    {
        var none = new uint[Instances];
        Array.Fill(none, NoStep);
        _device.Write(_firstNonFinite, 0, MemoryMarshal.AsBytes(none.AsSpan()));
    }

    protected override void ReadFirstNonFiniteStepCore(Span<long> firstStep)
    {
        var steps = new uint[Instances];
        _device.Read(_firstNonFinite, 0, MemoryMarshal.AsBytes(steps.AsSpan()));
        for (int s = 0; s < Instances; s++) firstStep[s] = steps[s] == NoStep ? -1 : steps[s];
    }

    protected override void ReadCore(TensorKind tensor, Span<float> destination)
    {
        switch (tensor)
        {
            case TensorKind.X: ReadRows(_x, Config.N, destination); break;
            case TensorKind.Z: ReadRows(_z, Config.N, destination); break;
            case TensorKind.H: ReadRows(_h, Config.M, destination); break;
            case TensorKind.Gradients: ReadLayout(_gradients, 0, destination); break;
            case TensorKind.RowLoss: _device.Read(_rowLoss, 0, MemoryMarshal.AsBytes(destination)); break;
        }
    }

    /// <summary>The first <see cref="Backend.Rows"/> rows of each instance of an activation buffer [k][B][width].</summary>
    private void ReadRows(DeviceBuffer buffer, int width, Span<float> destination)
    {
        int rows = Rows, batch = Config.Batch;
        if (rows == batch)
        {
            _device.Read(buffer, 0, MemoryMarshal.AsBytes(destination));
            return;
        }
        for (int s = 0; s < Instances; s++)
            _device.Read(buffer, 4L * s * batch * width, MemoryMarshal.AsBytes(destination.Slice(s * rows * width, rows * width)));
    }

    // ---- the operations ------------------------------------------------------------------------

    protected override void GenerateBatchCore(long step) => Generate((uint)step, 0, Config.Batch, evaluation: false);

    /// <summary>x for samples firstSample .. firstSample + rows - 1, and its per-row nonzero lists.</summary>
    private void Generate(uint step, uint firstSample, int rows, bool evaluation)
    {
        int n = Config.N;
        long blocks = (long)rows * ((n + 3) / 4);
        Launch(_generate, Groups(blocks, KernelSource.GroupSize), KernelSource.GroupSize,
            _x, _keys, _thresholds, n, Config.Batch, rows, step, firstSample,
            evaluation ? DataStream.EvalMask : DataStream.TrainMask, evaluation ? DataStream.EvalValue : DataStream.TrainValue);
        Launch(_compactRows, rows, KernelSource.CompactGroup, _x, _xRowIndex, _xRowCount, n, Config.Batch);
    }

    protected override void ForwardCore()
    {
        int n = Config.N, m = Config.M, batch = Config.Batch, rows = Rows;
        Launch(_encoder, Groups((long)rows * m, KernelSource.GroupSize), KernelSource.GroupSize,
            _parameters, _x, _xRowIndex, _xRowCount, _h, n, m, batch, rows, PerInstance);
        long tiles = Groups(rows, KernelSource.DecoderTileRows) * Groups(n, KernelSource.DecoderTileFeatures);
        Launch(_decoder, tiles, KernelSource.DecoderGroupSize,
            _parameters, _h, _z, n, m, batch, rows, PerInstance, _layout.DecoderOffset, _layout.BiasOffset, Config.Bias);
    }

    protected override void BackwardCore()
    {
        int n = Config.N, m = Config.M, batch = Config.Batch;
        Launch(_loss, batch, KernelSource.LossGroupSize, _z, _x, _importance, _gradScale, _rowLoss, _gz, n, batch, batch, true);
        Launch(_compactRows, batch, KernelSource.CompactGroup, _gz, _gzRowIndex, _gzRowCount, n, batch);
        long columnGroups = Groups(n, KernelSource.ColumnTile);
        Launch(_compactColumns, columnGroups, KernelSource.ColumnTile * KernelSource.ColumnSlices, _gz, _gzColumnIndex, _gzColumnCount, n, batch, batch);
        Launch(_compactColumns, columnGroups, KernelSource.ColumnTile * KernelSource.ColumnSlices, _x, _xColumnIndex, _xColumnCount, n, batch, batch);
        if (Config.Bias)
            Launch(_biasGradient, Groups(n, KernelSource.GroupSize), KernelSource.GroupSize,
                _gz, _gzColumnIndex, _gzColumnCount, _gradients, n, batch, PerInstance, _layout.BiasOffset);
        Launch(_decoderInputGradient, Groups((long)batch * m, KernelSource.GroupSize), KernelSource.GroupSize,
            _parameters, _gz, _gzRowIndex, _gzRowCount, _gh, n, m, batch, PerInstance, _layout.DecoderOffset);
        Launch(_weightGradients, Groups((long)n * m, KernelSource.GroupSize), KernelSource.GroupSize,
            _x, _h, _gz, _gh, _xColumnIndex, _xColumnCount, _gzColumnIndex, _gzColumnCount, _gradients,
            n, m, batch, PerInstance, _layout.DecoderOffset, Config.Tied);
    }

    protected override void UpdateCore(OptimizerStep scalars)
    {
        for (int s = 0; s < Instances; s++)
        {
            _hostStepScalars[2 * s] = scalars.StepSize[s];
            _hostStepScalars[2 * s + 1] = scalars.DecayFactor[s];
        }
        _device.Write(_stepScalars, 0, MemoryMarshal.AsBytes(_hostStepScalars.AsSpan()));
        long groups = Groups(Layout.PerInstance, KernelSource.GroupSize);
        uint step = (uint)scalars.Step;
        if (scalars.Kind == OptimizerKind.Sgd)
            Launch(_update, groups, KernelSource.GroupSize, _parameters, _gradients, _state, _stepScalars, _firstNonFinite,
                PerInstance, step, scalars.L2, scalars.Momentum);
        else
            Launch(_update, groups, KernelSource.GroupSize, _parameters, _gradients, _state, _stepScalars, _firstNonFinite,
                PerInstance, (int)Layout.Total, step, scalars.Beta1, scalars.Beta2, scalars.OneMinusBeta1, scalars.OneMinusBeta2,
                scalars.Eps, scalars.L2, scalars.BiasCorrection2Sqrt, scalars.Kind == OptimizerKind.AdamW);
    }

    /// <summary>
    /// Queues the four operations and submits them without waiting: the host runs ahead until it
    /// reads something back. Whoever times steps must stop the clock after a read (the trainer
    /// stops it after its loss read), or it counts queued work as done.
    /// </summary>
    protected override void StepCore(OptimizerStep scalars)
    {
        base.StepCore(scalars);
        _device.Flush();
    }

    protected override void EvaluateCore(long firstSample, int count, Span<float> rowLoss)
    {
        Generate(0, (uint)firstSample, count, evaluation: true);
        ForwardCore();
        int n = Config.N;
        Launch(_loss, count, KernelSource.LossGroupSize, _z, _x, _importance, _gradScale, _rowLoss, _gz, n, Config.Batch, count, false);
        _device.Read(_rowLoss, 0, MemoryMarshal.AsBytes(rowLoss));
    }

    // ---- launching -----------------------------------------------------------------------------

    private static long Groups(long items, int perGroup) => (items + perGroup - 1) / perGroup;

    /// <summary>Launches over every instance, in chunks the runtime accepts, with firstInstance as the first argument.</summary>
    private void Launch(DeviceKernel kernel, long groups, int groupSize, params ReadOnlySpan<KernelArgument> arguments)
    {
        Span<KernelArgument> all = stackalloc KernelArgument[arguments.Length + 1];
        arguments.CopyTo(all[1..]);
        for (int first = 0; first < Instances; first += _device.MaxInstancesPerLaunch)
        {
            all[0] = first;
            _device.Launch(kernel, groups, Math.Min(_device.MaxInstancesPerLaunch, Instances - first), groupSize, all);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        for (int e = _owned.Count - 1; e >= 0; e--) _owned[e].Dispose();
        _owned.Clear();
        _device.Dispose();
    }
}
