namespace ToyModels.Gpu.Kernels;

/// <summary>Every kernel of the training program by name: what the audit checks and <c>Benchmarks kernels --emit</c> writes.</summary>
internal static class KernelCatalog
{
    public static IReadOnlyList<(string Name, Delegate Kernel)> All { get; } =
    [
        ("generate", (Action<GenerateArguments>)GenerateKernel.Generate),
        ("nonzero_count", (Action<NonzeroListArguments>)NonzeroListKernels.Count),
        ("nonzero_write", (Action<NonzeroListArguments>)NonzeroListKernels.Write),
        ("encoder", (Action<EncoderArguments>)EncoderKernel.Forward),
        ("decoder", (Action<DecoderArguments>)DecoderKernel.Forward),
        ("loss", (Action<LossArguments>)LossKernel.Forward),
        ("bias_gradient", (Action<GradientArguments>)GradientKernels.Bias),
        ("decoder_input_gradient", (Action<GradientArguments>)GradientKernels.DecoderInput),
        ("weight_gradients", (Action<GradientArguments>)GradientKernels.Weights),
        ("adam", (Action<OptimizerArguments>)OptimizerKernels.Adam),
        ("sgd", (Action<OptimizerArguments>)OptimizerKernels.Sgd),
    ];
}
