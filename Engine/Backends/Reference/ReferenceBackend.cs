using ToyModels.Data;
using ToyModels.Model;

namespace ToyModels.Backends.Reference;

/// <summary>
/// The scalar reference backend: the executable specification of every number the engine
/// produces (numerics.md rule 7). Plain loops, one thread, no intrinsics; every other backend
/// is tested against it bit for bit.
/// </summary>
internal sealed class ReferenceBackend : Backend
{
    private readonly InstanceConstants _constants;
    private readonly float[] _parameters;   // ParameterLayout
    private readonly float[] _gradients;    // ParameterLayout
    private readonly float[][] _state;      // per slot, ParameterLayout
    private readonly float[] _x, _z, _gz;   // [k][B][n]
    private readonly float[] _h, _gh;       // [k][B][m]
    private readonly float[] _rowLoss;      // [k][B]
    private readonly float[] _tiedDecoderGradient; // n x m, tied models only
    private readonly long[] _firstNonFinite;

    internal ReferenceBackend(AutoencoderConfig config) : base(config)
    {
        CheckSizes(config);
        int k = config.InstanceCount, b = config.Batch, n = config.N, m = config.M;
        _constants = new InstanceConstants(config);
        _parameters = Zeroed(Layout.Total);
        _gradients = Zeroed(Layout.Total);
        _state = new float[config.Optimizer.StateSlots][];
        for (int slot = 0; slot < _state.Length; slot++) _state[slot] = Zeroed(Layout.Total);
        _x = Zeroed((long)k * b * n);
        _z = Zeroed((long)k * b * n);
        _gz = Zeroed((long)k * b * n);
        _h = Zeroed((long)k * b * m);
        _gh = Zeroed((long)k * b * m);
        _rowLoss = new float[k * b];
        _tiedDecoderGradient = config.Tied ? new float[n * m] : [];
        _firstNonFinite = new long[k];
        Array.Fill(_firstNonFinite, -1L);
    }

    /// <summary>
    /// A new array, all +0. The .NET 10 GC (runtime 10.0.12, workstation, measured in a program of a few lines that
    /// does nothing else) leaves a stray 0x00000001 (the smallest subnormal) in a new float array of more than 2^32
    /// bytes allocated after another such array, at data offset (size mod 2^32) + 32: just past the array's end with
    /// its size cut to 32 bits. <c>new float[2^30 + 2^16]</c> three times put it at element 65544 of the second;
    /// <c>new float[2^30 + 2^17]</c> at element 131080. Untied n 65536, m 8192 has arrays that size, and an optimizer
    /// state that does not start at +0 is not the reference's; such arrays are cleared again (a few seconds, at that size).
    /// </summary>
    private static float[] Zeroed(long length)
    {
        var array = new float[length];
        if (length * sizeof(float) >= (1L << 32) - 1024) Array.Clear(array);
        return array;
    }

    /// <summary>
    /// The plain loops index arrays with 32-bit ints: every buffer (parameters, one optimizer slot, one
    /// activation of all instances) must hold at most <see cref="Array.MaxLength"/> floats. Larger models run on
    /// the simd backend, which addresses its buffers with 64-bit offsets.
    /// </summary>
    public static void CheckSizes(AutoencoderConfig config)
    {
        long total = config.Layout.Total, activations = (long)config.InstanceCount * config.Batch * Math.Max(config.N, config.M);
        string accepted = $"at most {Array.MaxLength} floats per buffer on the reference backend (the simd backend has no such limit)";
        if (total > Array.MaxLength)
            throw new ConfigException("AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Instances", $"{config.N}, {config.M}, {config.InstanceCount} ({total} parameters)", accepted);
        if (activations > Array.MaxLength)
            throw new ConfigException("AutoencoderConfig.Batch, AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Instances", $"{config.Batch}, {config.N}, {config.M}, {config.InstanceCount} ({activations} floats of activations)", accepted);
    }

    /// <summary>Its buffers, managed arrays written whole every step (<see cref="Memory.MemoryEstimate"/>).</summary>
    public static IEnumerable<Memory.MemoryPart> Memory(AutoencoderConfig config)
    {
        long k = config.InstanceCount, b = config.Batch, n = config.N, m = config.M, total = config.Layout.Total;
        yield return new("parameters and gradients", 2 * 4 * total);
        yield return new("optimizer state", 4 * config.OptimizerStateLength());
        yield return new("activations x, z, g_z, h, g_h, row losses", 4 * k * b * (3 * n + 2 * m + 1));
        if (config.Tied) yield return new("tied gW_out", 4 * n * m);
        yield return new("importance and gradient scale", 2 * 4 * k * n);
    }

    public override string Name => "reference";
    public override string Description => "scalar reference, 1 thread";

    protected override void WriteParametersCore(long start, ReadOnlySpan<float> source)
    {
        source.CopyTo(_parameters.AsSpan((int)start));
        Array.Fill(_firstNonFinite, -1L);
    }

    protected override void ReadParametersCore(long start, Span<float> destination) => _parameters.AsSpan((int)start, destination.Length).CopyTo(destination);

    // A range of the state may cross from one slot into the next.
    protected override void WriteOptimizerStateCore(long start, ReadOnlySpan<float> source)
    {
        while (!source.IsEmpty)
        {
            var (slot, at, count) = SlotPiece(start, source.Length);
            source[..count].CopyTo(_state[slot].AsSpan(at));
            source = source[count..];
            start += count;
        }
    }

    protected override void ReadOptimizerStateCore(long start, Span<float> destination)
    {
        while (!destination.IsEmpty)
        {
            var (slot, at, count) = SlotPiece(start, destination.Length);
            _state[slot].AsSpan(at, count).CopyTo(destination);
            destination = destination[count..];
            start += count;
        }
    }

    private (int Slot, int At, int Count) SlotPiece(long start, int length)
    {
        int slot = (int)(start / Layout.Total), at = (int)(start % Layout.Total);
        return (slot, at, (int)Math.Min(length, Layout.Total - at));
    }

    protected override void GenerateBatchCore(long step) => Generate((uint)step, 0, Config.Batch, evaluation: false);

    private void Generate(uint step, long firstSample, int rows, bool evaluation)
    {
        int n = Config.N;
        for (int s = 0; s < Instances; s++)
            for (int r = 0; r < rows; r++)
                DataStream.Sample(_constants.Seed[s], _constants.Threshold[s], step, (uint)(firstSample + r),
                    _x.AsSpan((s * Config.Batch + r) * n, n), evaluation);
    }

    protected override void ForwardCore()
    {
        int n = Config.N, m = Config.M, rows = Rows;
        for (int s = 0; s < Instances; s++)
        {
            var block = Layout.Instance(_parameters, s);
            var x = _x.AsSpan(s * Config.Batch * n, rows * n);
            var h = _h.AsSpan(s * Config.Batch * m, rows * m);
            var z = _z.AsSpan(s * Config.Batch * n, rows * n);
            Encoder.Forward(Layout.Encoder.Of(block), x, h, rows, n, m);
            Decoder.Forward(DecoderWeights(block), Config.Tied, Layout.BiasVector.Of(block), h, z, rows, n, m);
        }
    }

    private ReadOnlySpan<float> DecoderWeights(ReadOnlySpan<float> block) =>
        Config.Tied ? Layout.Encoder.Of(block) : Layout.Decoder.Of(block);

    protected override void BackwardCore()
    {
        int n = Config.N, m = Config.M, rows = Config.Batch;
        for (int s = 0; s < Instances; s++)
        {
            var block = Layout.Instance(_parameters, s);
            var gradient = Layout.Instance(_gradients.AsSpan(), s);
            var x = _x.AsSpan(s * rows * n, rows * n);
            var z = _z.AsSpan(s * rows * n, rows * n);
            var gz = _gz.AsSpan(s * rows * n, rows * n);
            var h = _h.AsSpan(s * rows * m, rows * m);
            var gh = _gh.AsSpan(s * rows * m, rows * m);

            Loss.Forward(z, x, _constants.Importance.AsSpan(s * n, n), _constants.GradScale.AsSpan(s * n, n),
                _rowLoss.AsSpan(s * rows, rows), gz, rows, n);
            if (Config.Bias) Decoder.BackwardBias(gz, Layout.BiasVector.Of(gradient), rows, n);
            var gWOut = Config.Tied ? _tiedDecoderGradient : Layout.Decoder.Of(gradient);
            Decoder.BackwardWeights(gz, h, gWOut, rows, n, m);
            Decoder.BackwardInput(DecoderWeights(block), Config.Tied, gz, gh, rows, n, m);
            var gWIn = Layout.Encoder.Of(gradient);
            Encoder.BackwardWeights(gh, x, gWIn, rows, n, m);
            if (Config.Tied)
            {
                // gW = gW_in + gW_out^T: gW[j][i] = gW_in[j][i] + gW_out[i][j], one rounded add.
                for (int j = 0; j < m; j++)
                    for (int i = 0; i < n; i++)
                        gWIn[j * n + i] = gWIn[j * n + i] + _tiedDecoderGradient[i * m + j];
            }
        }
    }

    protected override void UpdateCore(OptimizerScalars scalars)
    {
        int slots = Config.Optimizer.StateSlots;
        for (int s = 0; s < Instances; s++)
        {
            int length = (int)Layout.PerInstance, offset = s * length;
            var first = slots >= 1 ? _state[0].AsSpan(offset, length) : Span<float>.Empty;
            var second = slots >= 2 ? _state[1].AsSpan(offset, length) : Span<float>.Empty;
            bool finite = Optimizer.Update(scalars, s, _parameters.AsSpan(offset, length), _gradients.AsSpan(offset, length), first, second);
            if (!finite && _firstNonFinite[s] < 0) _firstNonFinite[s] = scalars.Step;
        }
    }

    protected override void EvaluateCore(long firstSample, int count, Span<float> rowLoss)
    {
        int n = Config.N, b = Config.Batch;
        Generate(0, firstSample, count, evaluation: true);
        ForwardCore();
        for (int s = 0; s < Instances; s++)
            Loss.Forward(_z.AsSpan(s * b * n, count * n), _x.AsSpan(s * b * n, count * n), _constants.Importance.AsSpan(s * n, n),
                _constants.GradScale.AsSpan(s * n, n), rowLoss.Slice(s * count, count), Span<float>.Empty, count, n);
        for (int s = 0; s < Instances; s++)
            rowLoss.Slice(s * count, count).CopyTo(_rowLoss.AsSpan(s * count, count));
    }

    protected override void ReadCore(TensorKind tensor, Span<float> destination)
    {
        int rows = Rows;
        switch (tensor)
        {
            case TensorKind.X: CopyRows(_x, Config.N, rows, destination); break;
            case TensorKind.Z: CopyRows(_z, Config.N, rows, destination); break;
            case TensorKind.H: CopyRows(_h, Config.M, rows, destination); break;
            case TensorKind.Gradients: _gradients.CopyTo(destination); break;
            case TensorKind.RowLoss: _rowLoss.AsSpan(0, Instances * rows).CopyTo(destination); break;
        }
    }

    /// <summary>Activations are stored [k][B][width]; copies the first <paramref name="rows"/> rows of each instance.</summary>
    private void CopyRows(float[] source, int width, int rows, Span<float> destination)
    {
        for (int s = 0; s < Instances; s++)
            source.AsSpan(s * Config.Batch * width, rows * width).CopyTo(destination.Slice(s * rows * width, rows * width));
    }

    protected override void ReadFirstNonFiniteStepCore(Span<long> firstStep) => _firstNonFinite.CopyTo(firstStep);
}
