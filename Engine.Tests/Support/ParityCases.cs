using ToyModels.Model;

namespace ToyModels.Tests.Support;

/// <summary>
/// The shapes every backend is held to, bit for bit: ragged n, m and B (1, 7, 17, 33, 509, just past
/// the device kernels' tiles, and a multiple of 64), tied and untied, bias on and off, every
/// importance kind, 1 to 3 instances, sparsities from empty (p 0) through dense (p 1), every optimizer.
/// </summary>
public static class ParityCases
{
    private static readonly Dictionary<string, Func<AutoencoderConfig>> Cases = new()
    {
        ["n1-m1-B1-untied"] = () => Make(1, 1, 1, false, true, 0.5, Importance.Uniform, 1),
        ["n7-m17-B33-untied-decay-k3"] = () => Make(7, 17, 33, false, true, 0.3, Importance.Decay(0.9), 3),
        ["n17-m7-B1-tied-nobias-power"] = () => Make(17, 7, 1, true, false, 0.2, Importance.Power(1.1), 1),
        ["n33-m33-B7-tied-bias-k3"] = () => Make(33, 33, 7, true, true, 0.1, Importance.Uniform, 3),
        ["n509-m33-B17-untied-power"] = () => Make(509, 33, 17, false, true, 0.05, Importance.Power(0.5), 1),
        ["n64-m7-B509-untied-nobias"] = () => Make(64, 7, 509, false, false, 0.05, Importance.Uniform, 1),
        ["n128-m64-B64-tied-k3"] = () => Make(128, 64, 64, true, true, 0.02, Importance.Decay(0.99), 3),
        ["n33-m509-B7-untied"] = () => Make(33, 509, 7, false, true, 0.25, Importance.Uniform, 1),
        ["n17-m7-B17-p1-dense"] = () => Make(17, 7, 17, false, true, 1.0, Importance.Uniform, 1),
        ["n17-m7-B17-p0-empty"] = () => Make(17, 7, 17, true, true, 0.0, Importance.Uniform, 1),
        ["n192-m17-B33-adamw-k3"] = () => Make(192, 17, 33, false, true, 0.03, Importance.Uniform, 3, new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0.1 }),
        ["n33-m7-B17-sgd-momentum"] = () => Make(33, 7, 17, false, true, 0.1, Importance.Uniform, 1, new OptimizerSettings { Kind = OptimizerKind.Sgd, Momentum = 0.9, WeightDecay = 0.01 }, lr: 0.1),
        ["n33-m7-B17-sgd-tied"] = () => Make(33, 7, 17, true, false, 0.1, Importance.Uniform, 1, new OptimizerSettings { Kind = OptimizerKind.Sgd }, lr: 0.1),
        // Tile edges of the device kernels: 2 row tiles (128 + 2) and 3 feature tiles (256 + 1) of the decoder product,
        // a k-tile of 8 plus a tail of 1, row lists with uneven slices, a last column group of 1 column.
        ["n257-m9-B130-untied-decay-k2"] = () => Make(257, 9, 130, false, true, 0.1, Importance.Decay(0.97), 2),
        ["n64-m17-B33-adam-l2-xavier"] = () => Make(64, 17, 33, false, true, 0.1, Importance.Uniform, 1, new OptimizerSettings { WeightDecay = 0.01 }, init: InitKind.XavierNormal),
    };

    public static IEnumerable<object[]> Names => Cases.Keys.Select(k => new object[] { k });

    public static AutoencoderConfig Get(string name) => Cases[name]();

    /// <summary>Instances of a packed case get different p and lr so that packing mixes genuinely different models.</summary>
    public static AutoencoderConfig Make(int n, int m, int batch, bool tied, bool bias, double p, Importance importance, int instances,
        OptimizerSettings? optimizer = null, double lr = 0.01, InitKind init = InitKind.Uniform, ulong seed = 1234)
    {
        var list = new InstanceSettings[instances];
        for (int s = 0; s < instances; s++)
            list[s] = new InstanceSettings(seed + (ulong)s, Math.Min(1, p * (1 + 0.5 * s)), lr * (1 + s), importance);
        return new AutoencoderConfig(n, m, tied, bias, batch, list, optimizer ?? new OptimizerSettings(), init);
    }
}
