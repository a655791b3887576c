using ToyModels.Data;
using ToyModels.Model;

namespace ToyModels.Backends.Reference;

/// <summary>
/// The scalar reference backend: the executable specification of every number the engine
/// produces (numerics.md rule 7). Plain loops, one thread, no intrinsics; every other backend
/// is tested against it bit for bit.
/// </summary>
public sealed class ReferenceBackend : Backend
{
    private readonly InstanceConstants _constants;
    private readonly float[] _parameters;   // ParameterLayout
    private readonly float[] _gradients;    // ParameterLayout
    private readonly float[] _state;        // StateSlots x ParameterLayout
    private readonly float[] _x, _z, _gz;   // [k][B][n]
    private readonly float[] _h, _gh;       // [k][B][m]
    private readonly float[] _rowLoss;      // [k][B]
    private readonly float[] _tiedDecoderGradient; // n x m, tied models only
    private readonly long[] _firstNonFinite;

    internal ReferenceBackend(AutoencoderConfig config) : base(config)
    {
        int k = config.InstanceCount, b = config.Batch, n = config.N, m = config.M;
        _constants = new InstanceConstants(config);
        _parameters = new float[Layout.Total];
        _gradients = new float[Layout.Total];
        _state = new float[OptimizerStateLength];
        _x = new float[k * b * n];
        _z = new float[k * b * n];
        _gz = new float[k * b * n];
        _h = new float[k * b * m];
        _gh = new float[k * b * m];
        _rowLoss = new float[k * b];
        _tiedDecoderGradient = config.Tied ? new float[n * m] : [];
        _firstNonFinite = new long[k];
        Array.Fill(_firstNonFinite, -1L);
    }

    public override string Name => "reference";
    public override string Description => "scalar reference, 1 thread";

    protected override void SetParametersCore(ReadOnlySpan<float> parameters)
    {
        parameters.CopyTo(_parameters);
        Array.Fill(_firstNonFinite, -1L);
    }

    protected override void GetParametersCore(Span<float> parameters) => _parameters.CopyTo(parameters);
    protected override void SetOptimizerStateCore(ReadOnlySpan<float> state) => state.CopyTo(_state);
    protected override void GetOptimizerStateCore(Span<float> state) => _state.CopyTo(state);

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

    protected override void UpdateCore(OptimizerStep scalars)
    {
        int total = Layout.Total, slots = Config.Optimizer.StateSlots;
        for (int s = 0; s < Instances; s++)
        {
            int offset = s * Layout.PerInstance, length = Layout.PerInstance;
            var first = slots >= 1 ? _state.AsSpan(offset, length) : Span<float>.Empty;
            var second = slots >= 2 ? _state.AsSpan(total + offset, length) : Span<float>.Empty;
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
