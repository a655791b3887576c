using System.Globalization;
using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// Writes a checkpoint (<see cref="Checkpoint"/> describes the format) straight from a model's state, a piece at a
/// time: the parameters and optimizer state stream from the backend (or an in-memory checkpoint) into the file
/// through a buffer of <see cref="SafeTensors.ChunkFloats"/> floats, so writing one never holds a second copy of
/// the model.
/// </summary>
internal static class CheckpointWriter
{
    /// <summary>Writes <paramref name="state"/> at <paramref name="step"/> atomically; returns its weights_sha256.</summary>
    public static string Write(string path, IModelState state, long step, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var config = state.Config;
        var layout = config.Layout;
        int k = config.InstanceCount;
        var tensors = new List<TensorSource>();
        foreach (var tensor in CheckpointTensors.Of(config))
        {
            if (tensor.Buffer == StateBuffer.Importance)
            {
                var importance = new float[(long)k * config.N];
                for (int s = 0; s < k; s++) config.Instances[s].Importance.Compute(config.N).CopyTo(importance, (long)s * config.N);
                tensors.Add(new TensorSource(tensor.Name, tensor.Shape, importance));
                continue;
            }
            tensors.Add(new TensorSource(tensor.Name, tensor.Shape, tensor.Length, (start, destination) =>
            {
                // A piece may cross from one instance's block into the next: read it run by run.
                foreach (var (offset, at, count) in tensor.Runs(layout, start, destination.Length))
                {
                    if (tensor.Buffer == StateBuffer.Parameters) state.ReadParameters(offset, destination.Slice(at, count));
                    else state.ReadOptimizerState(offset, destination.Slice(at, count));
                }
            }));
        }

        string weights = WeightsHash.Of(state);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) meta[key] = value;
        meta["format"] = Checkpoint.Format;
        meta["version"] = Checkpoint.Version;
        meta["config"] = ConfigJson.Write(config);
        meta["step"] = step.ToString(CultureInfo.InvariantCulture);
        meta["seeds"] = "[" + string.Join(",", config.Instances.Select(i => i.Seed.ToString(CultureInfo.InvariantCulture))) + "]";
        meta["weights_sha256"] = weights;
        SafeTensors.Write(path, tensors, meta);
        return weights;
    }
}
