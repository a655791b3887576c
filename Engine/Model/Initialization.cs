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
/// words = philox((e mod 2^32, t, e >> 32, 4), key) (the third word is 0 for tensors below 2^32 elements). Two words make a uniform u = ((w0 &lt;&lt; 32 | w1) &gt;&gt; 11) * 2^-53 in [0, 1).
/// <list type="bullet">
/// <item>Uniform (PyTorch nn.Linear): value = bound * (2 u - 1), bound = 1 / sqrt(fan_in); fan_in is n for
/// W_in and W, m for W_out and b.</item>
/// <item>Xavier-normal: value = sqrt(2 / (n + m)) * sqrt(-2 ln(1 - u)) * cos(2 pi u') (Box-Muller), u from
/// (w0, w1), u' from (w2, w3); b = 0. The logarithm and cosine are <see cref="HostMath"/>'s, the same on every machine.</item>
/// </list>
/// </remarks>
internal static class Initialization
{
    public const uint InitStream = 4;

    /// <summary>Fills <paramref name="parameters"/> (the layout of <paramref name="config"/>) for every instance.</summary>
    public static void Initialize(AutoencoderConfig config, Span<float> parameters)
    {
        if (parameters.Length != config.Layout.Total)
            throw new ArgumentException($"parameters has {parameters.Length} floats; the layout needs {config.Layout.Total}", nameof(parameters));
        Fill(config, 0, parameters);
    }

    /// <summary>A new parameter buffer, initialised (a model whose parameters fit one array).</summary>
    public static float[] Create(AutoencoderConfig config)
    {
        var parameters = new float[config.Layout.Total];
        Initialize(config, parameters);
        return parameters;
    }

    /// <summary>
    /// The initial parameters [start, start + destination.Length) of the layout, so a model of any size is
    /// initialised a piece at a time (<see cref="Backends.BackendFactory"/> streams them into the backend).
    /// </summary>
    public static void Fill(AutoencoderConfig config, long start, Span<float> destination)
    {
        var layout = config.Layout;
        Backends.ModelStateExtensions.CheckRange(start, destination.Length, layout.Total, "parameters");
        double std = Math.Sqrt(2.0 / ((double)config.N + config.M));
        int done = 0;
        while (done < destination.Length)
        {
            long position = start + done;
            int s = (int)(position / layout.PerInstance);
            long offset = position % layout.PerInstance;
            var view = layout.Tensors.First(v => offset < v.Offset + v.Length);
            long first = offset - view.Offset;
            int count = (int)Math.Min(destination.Length - done, view.Length - first);
            var piece = destination.Slice(done, count);
            ulong seed = config.Instances[s].Seed;
            if (view == layout.BiasVector)
            {
                if (config.Init == InitKind.XavierNormal) piece.Clear();
                else Fill(piece, first, seed, 2, InitKind.Uniform, 1.0 / Math.Sqrt(config.M), std);
            }
            else if (view == layout.Encoder) Fill(piece, first, seed, 0, config.Init, 1.0 / Math.Sqrt(config.N), std);
            else Fill(piece, first, seed, 1, config.Init, 1.0 / Math.Sqrt(config.M), std);
            done += count;
        }
    }

    /// <summary>Elements first .. first + tensor.Length - 1 of tensor <paramref name="tensorId"/>.</summary>
    private static void Fill(Span<float> tensor, long first, ulong seed, uint tensorId, InitKind kind, double bound, double std)
    {
        var (k0, k1) = Philox.Key(seed);
        for (int c = 0; c < tensor.Length; c++)
        {
            long e = first + c;
            var w = Philox.Generate((uint)e, tensorId, (uint)(e >> 32), InitStream, k0, k1);
            double u = Unit(w.X0, w.X1);
            double value = kind == InitKind.Uniform
                ? bound * (2 * u - 1)
                : std * Math.Sqrt(-2 * HostMath.Log(1 - u)) * HostMath.CosTwoPi(Unit(w.X2, w.X3));
            tensor[c] = (float)value;
        }
    }

    /// <summary>A double in [0, 1) from the top 53 of 64 bits.</summary>
    private static double Unit(uint hi, uint lo) => ((((ulong)hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}
