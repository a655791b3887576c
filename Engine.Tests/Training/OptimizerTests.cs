using ToyModels.Backends;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Training;

public class OptimizerTests
{
    private static AutoencoderConfig One(OptimizerSettings optimizer, double lr) =>
        new(1, 1, true, false, 1, [new InstanceSettings(0, 0.5, lr, Importance.Uniform)], optimizer);

    [Fact]
    public void Adam_first_steps_match_the_hand_computation()
    {
        // PyTorch's Adam, lr 0.01, betas (0.9, 0.999), eps 1e-8, p 0.5, gradients 0.2 then -0.1.
        // Step 1: m = 0.02, v = 4e-5, step_size = 0.01 / 0.1 = 0.1, denom = sqrt(4e-5) / sqrt(0.001) + 1e-8 = 0.2 + 1e-8,
        // p = 0.5 - 0.1 * 0.02 / (0.2 + 1e-8) = 0.49000000049999998.
        // Step 2: m = 0.9 * 0.02 - 0.01 = 0.008, v = 0.999 * 4e-5 + 0.001 * 0.01 = 4.996e-5,
        // step_size = 0.01 / 0.19, denom = sqrt(4.996e-5) / sqrt(1 - 0.999^2) + 1e-8, p = p1 - step_size * m / denom.
        var config = One(new OptimizerSettings { Eps = 1e-8 }, 0.01);
        var o = new OptimizerScalars(config);
        float[] p = [0.5f], m = [0f], v = [0f];

        ToyModels.Backends.Reference.Optimizer.Update(o.Set(0), 0, p, [0.2f], m, v);
        Assert.Equal(0.49000000049999998, p[0], 1e-7);
        Assert.Equal(0.02, m[0], 1e-8);
        Assert.Equal(4e-5, v[0], 1e-11);
        // The exact float sequence of OptimizerScalars's remarks, written out by hand.
        float m1 = MathF.FusedMultiplyAdd(0.9f, 0f, (float)(1 - 0.9) * 0.2f);
        float v1 = MathF.FusedMultiplyAdd(0.999f, 0f, (float)(1 - 0.999) * (0.2f * 0.2f));
        float d1 = MathF.Sqrt(v1) / (float)Math.Sqrt(1 - 0.999) + 1e-8f;
        float p1 = MathF.FusedMultiplyAdd(-(float)(0.01 / (1 - 0.9)), m1 / d1, 0.5f);
        Bits.Equal(p1, p[0], "p after step 0");

        ToyModels.Backends.Reference.Optimizer.Update(o.Set(1), 0, p, [-0.1f], m, v);
        double expected = 0.49000000049999998 - 0.01 / (1 - 0.81) * 0.008 / (Math.Sqrt(4.996e-5) / Math.Sqrt(1 - 0.998001) + 1e-8);
        Assert.Equal(expected, p[0], 1e-7);
    }

    [Fact]
    public void AdamW_decays_before_the_update()
    {
        var config = One(new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0.1 }, 0.01);
        var o = new OptimizerScalars(config);
        float[] p = [0.5f], m = [0f], v = [0f];
        ToyModels.Backends.Reference.Optimizer.Update(o.Set(0), 0, p, [0.2f], m, v);
        // p = 0.5 * (1 - 0.01 * 0.1) - 0.01 (Adam's first step is lr times the sign).
        Assert.Equal(0.5 * 0.999 - 0.01, p[0], 1e-7);
    }

    [Fact]
    public void Sgd_with_momentum_and_weight_decay()
    {
        var config = One(new OptimizerSettings { Kind = OptimizerKind.Sgd, Momentum = 0.9, WeightDecay = 0.5 }, 0.1);
        var o = new OptimizerScalars(config);
        float[] p = [1f], buf = [0f];
        ToyModels.Backends.Reference.Optimizer.Update(o.Set(0), 0, p, [0.2f], buf, Span<float>.Empty);
        // g = 0.2 + 0.5 * 1 = 0.7; buf = 0.7; p = 1 - 0.07 = 0.93
        Assert.Equal(0.7, buf[0], 1e-7);
        Assert.Equal(0.93, p[0], 1e-7);
        ToyModels.Backends.Reference.Optimizer.Update(o.Set(1), 0, p, [0.2f], buf, Span<float>.Empty);
        // g = 0.2 + 0.465 = 0.665; buf = 0.63 + 0.665 = 1.295; p = 0.93 - 0.1295 = 0.8005
        Assert.Equal(1.295, buf[0], 1e-6);
        Assert.Equal(0.8005, p[0], 1e-6);
    }

    [Fact]
    public void Host_scalars_are_pytorch_bias_corrections()
    {
        var config = AutoencoderConfig.Create(4, 2, 0.1, 3e-3, optimizer: new OptimizerSettings { Eps = 1e-7 });
        var o = new OptimizerScalars(config).Set(9);
        Assert.Equal((float)(3e-3 / (1 - Math.Pow(0.9, 10))), o.StepSize[0]);
        Assert.Equal((float)Math.Sqrt(1 - Math.Pow(0.999, 10)), o.BiasCorrection2Sqrt);
        Assert.Equal(1e-7f, o.Eps);
    }
}
