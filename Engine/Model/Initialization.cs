using ToyModels.Data;
using ToyModels.Numerics;

namespace ToyModels.Model;

/// <summary>
/// Initial parameters, computed once on the host in double and rounded to float, so every backend
/// starts from the same bits (numerics.md rule 12).
/// </summary>
/// <remarks>
/// The initialisation stream: for instance seed S, key = (S mod 2^32, S >> 32); element e (row-major
/// index within its tensor) of tensor t (0: W_in or W, 1: W_out, 2: b) draws
/// words = philox((e, t, 0, 4), key). Two words make a uniform u = ((w0 &lt;&lt; 32 | w1) &gt;&gt; 11) * 2^-53 in [0, 1).
/// <list type="bullet">
/// <item>Uniform (PyTorch nn.Linear): value = bound * (2 u - 1), bound = 1 / sqrt(fan_in); fan_in is n for
/// W_in and W, m for W_out and b.</item>
/// <item>Xavier-normal: value = sqrt(2 / (n + m)) * sqrt(-2 ln(1 - u)) * cos(2 pi u') (Box-Muller), u from
/// (w0, w1), u' from (w2, w3); b = 0. The logarithm and cosine are <see cref="HostMath"/>'s, the same on every machine.</item>
/// </list>
/// </remarks>
public static class Initialization
{
    public const uint InitStream = 4;

    /// <summary>Fills <paramref name="parameters"/> (the layout of <paramref name="config"/>) for every instance.</summary>
    public static void Initialize(AutoencoderConfig config, Span<float> parameters)
    {
        var layout = config.Layout;
        if (parameters.Length != layout.Total)
            throw new ArgumentException($"parameters has {parameters.Length} floats; the layout needs {layout.Total}", nameof(parameters));
        for (int s = 0; s < config.InstanceCount; s++)
        {
            var block = layout.Instance(parameters, s);
            ulong seed = config.Instances[s].Seed;
            Fill(layout.Encoder.Of(block), seed, 0, config.Init, fanIn: config.N, config);
            if (!config.Tied) Fill(layout.Decoder.Of(block), seed, 1, config.Init, fanIn: config.M, config);
            if (config.Bias)
            {
                if (config.Init == InitKind.XavierNormal) layout.BiasVector.Of(block).Clear();
                else Fill(layout.BiasVector.Of(block), seed, 2, InitKind.Uniform, fanIn: config.M, config);
            }
        }
    }

    /// <summary>A new parameter buffer, initialised.</summary>
    public static float[] Create(AutoencoderConfig config)
    {
        var parameters = new float[config.Layout.Total];
        Initialize(config, parameters);
        return parameters;
    }

    private static void Fill(Span<float> tensor, ulong seed, uint tensorId, InitKind kind, int fanIn, AutoencoderConfig config)
    {
        var (k0, k1) = Philox.Key(seed);
        double bound = 1.0 / Math.Sqrt(fanIn);
        double std = Math.Sqrt(2.0 / ((double)config.N + config.M));
        for (int e = 0; e < tensor.Length; e++)
        {
            var w = Philox.Generate((uint)e, tensorId, 0, InitStream, k0, k1);
            double u = Unit(w.X0, w.X1);
            double value = kind == InitKind.Uniform
                ? bound * (2 * u - 1)
                : std * Math.Sqrt(-2 * HostMath.Log(1 - u)) * HostMath.CosTwoPi(Unit(w.X2, w.X3));
            tensor[e] = (float)value;
        }
    }

    /// <summary>A double in [0, 1) from the top 53 of 64 bits.</summary>
    private static double Unit(uint hi, uint lo) => ((((ulong)hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}
