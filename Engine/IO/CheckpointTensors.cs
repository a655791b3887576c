using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>Which buffer of a model's state a checkpoint tensor holds.</summary>
internal enum StateBuffer { Parameters, OptimizerState, Importance }

/// <summary>
/// One tensor of a checkpoint: its name and shape [k, ...], and where its elements live in the canonical
/// buffers: instance s's part of a parameter-layout tensor is floats
/// [Base + s PerInstance + View.Offset, + View.Length) of <see cref="Buffer"/>.
/// </summary>
internal sealed record CheckpointTensor(string Name, int[] Shape, StateBuffer Buffer, long Base, TensorView View, string? Slot)
{
    public long Length => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>
    /// Elements [start, start + length) of this tensor as runs inside one instance's block each: the canonical offset
    /// of a run, and where it starts in the piece and how long it is.
    /// </summary>
    public IEnumerable<(long Offset, int At, int Count)> Runs(ParameterLayout layout, long start, int length)
    {
        for (int at = 0; at < length;)
        {
            long e = start + at, within = e % View.Length;
            int count = (int)Math.Min(View.Length - within, length - at);
            yield return (Base + e / View.Length * layout.PerInstance + View.Offset + within, at, count);
            at += count;
        }
    }

    /// <summary>"W_in[0][3][5]": the element's indices, for messages.</summary>
    public string Element(long e)
    {
        var index = new long[Shape.Length];
        for (int d = Shape.Length - 1; d >= 0; d--) { index[d] = e % Shape[d]; e /= Shape[d]; }
        return Name + string.Concat(index.Select(i => $"[{i}]"));
    }
}

/// <summary>
/// The tensors of a checkpoint of a config, in file order: W_in and W_out, or W, then b; importance; then per
/// optimizer slot the same parameter tensors under PyTorch's names (optimizer.exp_avg.W_in, ...).
/// </summary>
internal static class CheckpointTensors
{
    public static string[] SlotNames(OptimizerSettings o) => o.Kind == OptimizerKind.Sgd
        ? (o.Momentum > 0 ? ["momentum_buffer"] : [])
        : ["exp_avg", "exp_avg_sq"];

    public static IReadOnlyList<CheckpointTensor> Of(AutoencoderConfig config)
    {
        var layout = config.Layout;
        var list = new List<CheckpointTensor>();
        void Add(string prefix, StateBuffer buffer, long start, string? slot)
        {
            foreach (var view in layout.Tensors)
                list.Add(new CheckpointTensor(prefix + view.Name, Shape(layout, view), buffer, start, view, slot));
        }
        Add("", StateBuffer.Parameters, 0, null);
        list.Add(new CheckpointTensor("importance", [layout.Instances, layout.N], StateBuffer.Importance, 0,
            new TensorView("importance", 0, layout.N, 1, layout.N), null));
        var slots = SlotNames(config.Optimizer);
        for (int slot = 0; slot < slots.Length; slot++)
            Add($"optimizer.{slots[slot]}.", StateBuffer.OptimizerState, slot * layout.Total, slots[slot]);
        return list;
    }

    /// <summary>[k, rows, columns] for the matrices, [k, n] for b.</summary>
    private static int[] Shape(ParameterLayout layout, TensorView view) =>
        view == layout.BiasVector ? [layout.Instances, view.Columns] : [layout.Instances, view.Rows, view.Columns];
}
