namespace ToyModels.Model;

/// <summary>
/// The settings a run starts from when nothing says otherwise: the library (<see cref="OptimizerSettings"/>,
/// <see cref="AutoencoderConfig.Create"/>, <see cref="Training.TrainerOptions"/>), every sample program, the
/// sweep grid and the benchmarks read them here, so the same settings give the same weights everywhere.
/// </summary>
/// <remarks>
/// n, m, p and batch are the Persian Rug paper's setting (Cowsik, Dolev, Infanger 2024): 512 features,
/// 128 hidden dimensions, p 0.045, Adam with lr 3e-3 / sqrt(n) and eps 1e-7, batch 1024.
/// </remarks>
public static class Defaults
{
    /// <summary>n: features.</summary>
    public const int N = 512;
    /// <summary>m: hidden dimensions.</summary>
    public const int M = 128;
    /// <summary>The probability that a feature is active.</summary>
    public const double P = 0.045;
    /// <summary>Samples per optimizer step.</summary>
    public const int Batch = 1024;
    /// <summary>Optimizer steps of a single run (about a minute for the default shape on 2 cores).</summary>
    public const long Steps = 8000;
    /// <summary>Optimizer steps of a run that is one of many or a means to an end: each run of a sweep grid
    /// that names none, and the Persian rug sample's ordinary model.</summary>
    public const long ShortSteps = 2000;
    /// <summary>Evaluation samples at the end of a run.</summary>
    public const int EvalSamples = 8192;
    /// <summary>Adam's epsilon (PyTorch's own default is 1e-8; the Persian Rug code uses 1e-7).</summary>
    public const double AdamEps = 1e-7;
    /// <summary>Adam's beta1.</summary>
    public const double Beta1 = 0.9;
    /// <summary>Adam's beta2.</summary>
    public const double Beta2 = 0.999;

    /// <summary>The learning rate for n features: 3e-3 / sqrt(n).</summary>
    public static double LearningRate(int n) =>
        n >= 1 ? 3e-3 / Math.Sqrt(n) : throw new ConfigException("AutoencoderConfig.N", n, "an integer >= 1");

    /// <summary>The text programs print for <see cref="LearningRate"/>.</summary>
    public const string LearningRateFormula = "3e-3 / sqrt(n)";
}
