using ToyModels.Backends;
using ToyModels.Numerics;
using ToyModels.Training;

namespace ToyModels.Analysis;

/// <summary>How to fit the rug's two scalars.</summary>
public sealed record RugFitOptions
{
    /// <summary>Adam steps, each on the training batch of that data-stream step.</summary>
    public int Steps { get; init; } = 400;
    /// <summary>Peak learning rate; it decays along a cosine to 1% of itself at the last step.</summary>
    public double LearningRate { get; init; } = 0.02;
    /// <summary>The scale a the fit starts from (finite; default 1).</summary>
    public double InitialA { get; init; } = 1.0;
    /// <summary>The bias b the fit starts from (finite; default 0).</summary>
    public double InitialB { get; init; }

    internal void Validate()
    {
        if (Steps < 0) throw new Model.ConfigException("RugFitOptions.Steps", Steps, "an integer >= 0");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new Model.ConfigException("RugFitOptions.LearningRate", LearningRate, "a finite number > 0");
        if (!double.IsFinite(InitialA) || !double.IsFinite(InitialB)) throw new Model.ConfigException("RugFitOptions.InitialA, RugFitOptions.InitialB", $"{InitialA}, {InitialB}", "finite numbers");
    }
}

/// <summary>After <see cref="Step"/> of <see cref="Steps"/> fit steps: the scalars and the batch loss of the last step.</summary>
public sealed record RugFitProgress(int Step, int Steps, double A, double B, float BatchLoss);

/// <summary>
/// Fits the rug's scalars a and b with the engine: the backend runs the ordinary forward and backward
/// pass of the model whose parameters are (W_in, a W_out0, a b 1) on data stream v1's training batches,
/// and the parameter gradients are chained to the two scalars; Adam updates them on the host in double.
/// </summary>
/// <remarks>
/// With W_out = a D (D = W_in^T / m) and bias = a b 1:
/// dL/da = sum_ij gW_out[i][j] D[i][j] + b sum_i g_b[i],   dL/db = a sum_i g_b[i].
/// Adam (PyTorch's form, beta1 0.9, beta2 0.999, eps 1e-8) with a cosine decay of the learning rate,
/// lr_t = lr (0.01 + 0.99 (1 + cos(pi t / T)) / 2), computed with <see cref="HostMath"/> so the fit gives
/// the same bits on every machine. A non-finite gradient, or scalars whose parameters do not fit in float32,
/// stop the fit with a <see cref="DivergenceException"/>.
/// </remarks>
public static class PersianRugFit
{
    /// <summary>Fits a and b of <paramref name="rug"/>, training batches from <paramref name="backend"/>'s data stream.</summary>
    /// <param name="backend">A backend of the rug's model: untied, with bias, n and m of the rug, one instance; its parameters are overwritten.</param>
    /// <param name="rug">The rug whose scalars are fitted.</param>
    /// <param name="options">Steps, learning rate and starting scalars.</param>
    /// <param name="progress">Told every 10 steps and at the last one.</param>
    /// <param name="cancellation">Checked between fit steps.</param>
    /// <returns>The fitted scalars after the last step, with that step's batch loss.</returns>
    /// <exception cref="Model.ConfigException">An option out of range.</exception>
    /// <exception cref="ArgumentException">A backend of another model.</exception>
    /// <exception cref="DivergenceException">A non-finite gradient, or scalars whose parameters leave float32.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    public static RugFitProgress Fit(IBackend backend, PersianRug rug, RugFitOptions options, IProgress<RugFitProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        CheckBackend(backend, rug);
        var gradient = new RugGradient(backend, rug);
        double a = options.InitialA, b = options.InitialB;
        double ma = 0, va = 0, mb = 0, vb = 0;
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        float loss = float.NaN;
        int steps = options.Steps;
        for (int t = 0; t < steps; t++)
        {
            cancellation.ThrowIfCancellationRequested();
            var (ga, gb) = gradient.At(a, b, t);
            double lr = options.LearningRate * (0.01 + 0.99 * (1 + HostMath.CosTwoPi(0.5 * t / steps)) / 2);
            ma = beta1 * ma + (1 - beta1) * ga;
            va = beta2 * va + (1 - beta2) * ga * ga;
            mb = beta1 * mb + (1 - beta1) * gb;
            vb = beta2 * vb + (1 - beta2) * gb * gb;
            double bc1 = 1 - HostMath.PowInt(beta1, t + 1), bc2 = Math.Sqrt(1 - HostMath.PowInt(beta2, t + 1));
            a -= lr / bc1 * ma / (Math.Sqrt(va) / bc2 + eps);
            b -= lr / bc1 * mb / (Math.Sqrt(vb) / bc2 + eps);
            if (!(double.IsFinite(ga) && double.IsFinite(gb) && rug.ParametersFinite(a, b)))
                throw DivergenceException.OfFit(t, $"the Persian rug fit diverged at fit step {t}: gradient ({ga:G4}, {gb:G4}), a {a:G4}, b {b:G4}; " +
                    "a smaller RugFitOptions.LearningRate may help", "RugFitOptions.LearningRate");
            if (progress is not null && ((t + 1) % 10 == 0 || t + 1 == steps))
            {
                loss = gradient.BatchLoss();
                progress.Report(new RugFitProgress(t + 1, steps, a, b, loss));
            }
        }
        return new RugFitProgress(steps, steps, a, b, steps > 0 ? gradient.BatchLoss() : float.NaN);
    }

    internal static void CheckBackend(IBackend backend, PersianRug rug)
    {
        var c = backend.Config;
        if (c.N != rug.N || c.M != rug.M || c.Tied || !c.Bias || c.InstanceCount != 1)
            throw new ArgumentException($"the rug fit needs a backend for one untied instance with bias, n {rug.N}, m {rug.M}", nameof(backend));
    }
}

/// <summary>The gradient of the batch loss with respect to the rug's (a, b), from the backend's Backward.</summary>
internal sealed class RugGradient
{
    private readonly IBackend _backend;
    private readonly PersianRug _rug;
    private readonly double[] _unitDecoder;
    private readonly float[] _parameters, _gradients, _rowLoss;

    public RugGradient(IBackend backend, PersianRug rug)
    {
        PersianRugFit.CheckBackend(backend, rug);
        _backend = backend;
        _rug = rug;
        _unitDecoder = rug.UnitDecoder();
        _parameters = new float[backend.Config.Layout.Total];
        _gradients = new float[backend.Config.Layout.Total];
        _rowLoss = new float[backend.Config.Batch];
    }

    /// <summary>Sets the rug (a, b) as the backend's parameters, runs the training batch of <paramref name="step"/> forward and backward, and chains.</summary>
    public (double DA, double DB) At(double a, double b, long step)
    {
        var config = _backend.Config;
        _rug.WriteParameters(config, _parameters, a, b);
        _backend.SetParameters(_parameters);
        _backend.GenerateBatch(step);
        _backend.Forward();
        _backend.Backward();
        _backend.Read(TensorKind.Gradients, _gradients);
        var layout = config.Layout;
        var gWOut = layout.Decoder.Of((ReadOnlySpan<float>)_gradients);
        var gBias = layout.BiasVector.Of((ReadOnlySpan<float>)_gradients);
        double viaDecoder = 0, biasSum = 0;
        for (int e = 0; e < gWOut.Length; e++) viaDecoder += gWOut[e] * _unitDecoder[e];
        for (int i = 0; i < gBias.Length; i++) biasSum += gBias[i];
        return (viaDecoder + b * biasSum, a * biasSum);
    }

    /// <summary>The loss of the batch of the last <see cref="At"/>.</summary>
    public float BatchLoss()
    {
        _backend.Read(TensorKind.RowLoss, _rowLoss);
        var loss = new float[1];
        LossReduction.Finish(_rowLoss, _backend.Config.Batch, _backend.Config.N, loss);
        return loss[0];
    }
}
