using ILGPU;
using ILGPU.Runtime;

namespace ToyModels.Gpu.Kernels;

/// <summary>The training program loaded on one accelerator: a typed launcher per kernel.</summary>
internal sealed class TrainingKernels
{
    public Launcher<GenerateArguments> Generate { get; }
    public Launcher<NonzeroListArguments> NonzeroCount { get; }
    public Launcher<NonzeroListArguments> NonzeroWrite { get; }
    public Launcher<EncoderArguments> Encoder { get; }
    public Launcher<DecoderArguments> Decoder { get; }
    public Launcher<LossArguments> Loss { get; }
    public Launcher<GradientArguments> BiasGradient { get; }
    public Launcher<GradientArguments> DecoderInputGradient { get; }
    public Launcher<GradientArguments> WeightGradients { get; }
    public Launcher<OptimizerArguments> Adam { get; }
    public Launcher<OptimizerArguments> Sgd { get; }

    /// <param name="load">Compiles and loads one kernel on the accelerator (OpenCL patches its source first).</param>
    /// <param name="maxInstancesPerLaunch">The most instances one launch covers (the index limits of the device).</param>
    public TrainingKernels(IKernelLoader load, int maxInstancesPerLaunch)
    {
        Launcher<T> Load<T>(Action<T> kernel, int instances = 0) where T : struct, IInstanceArguments =>
            new(load.Load(kernel), instances > 0 ? instances : maxInstancesPerLaunch);
        Generate = Load<GenerateArguments>(GenerateKernel.Generate);
        NonzeroCount = Load<NonzeroListArguments>(NonzeroListKernels.Count);
        NonzeroWrite = Load<NonzeroListArguments>(NonzeroListKernels.Write);
        Encoder = Load<EncoderArguments>(EncoderKernel.Forward);
        Decoder = Load<DecoderArguments>(DecoderKernel.Forward);
        Loss = Load<LossArguments>(LossKernel.Forward);
        BiasGradient = Load<GradientArguments>(GradientKernels.Bias);
        DecoderInputGradient = Load<GradientArguments>(GradientKernels.DecoderInput);
        WeightGradients = Load<GradientArguments>(GradientKernels.Weights);
        // The optimizers carry eight instances' scalars in their arguments.
        Adam = Load<OptimizerArguments>(OptimizerKernels.Adam, Block8.Size);
        Sgd = Load<OptimizerArguments>(OptimizerKernels.Sgd, Block8.Size);
    }
}

/// <summary>Compiles a kernel for one accelerator and returns its typed launch delegate.</summary>
internal interface IKernelLoader
{
    Action<AcceleratorStream, KernelConfig, T> Load<T>(Action<T> kernel) where T : struct;
}
