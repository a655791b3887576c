using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.IO;

/// <summary>
/// The step-0 gradients of instance 0, for checking against an autograd implementation
/// (the project's scripts/torch_gradcheck.py). Tensors, float32: W_in [m, n] and W_out [n, m] (untied)
/// or W [m, n] (tied); b [n] (with bias); x [B, n]; importance [n]; loss [1]; grad.W_in, grad.W_out
/// or grad.W; grad.b.
/// </summary>
public static class GradientDump
{
    /// <summary>Runs GenerateBatch(0), Forward and Backward on <paramref name="backend"/> and writes the file.</summary>
    public static void Write(string path, IBackend backend)
    {
        var config = backend.Config;
        var layout = config.Layout;
        int n = config.N, b = config.Batch, k = config.InstanceCount;
        backend.GenerateBatch(0);
        backend.Forward();
        backend.Backward();
        var parameters = new float[layout.Total];
        var gradients = new float[layout.Total];
        var x = new float[k * b * n];
        var rowLoss = new float[k * b];
        backend.GetParameters(parameters);
        backend.Read(TensorKind.Gradients, gradients);
        backend.Read(TensorKind.X, x);
        backend.Read(TensorKind.RowLoss, rowLoss);
        var loss = new float[k];
        LossReduction.Finish(rowLoss, b, n, loss);

        var tensors = new List<TensorSource>();
        foreach (var view in layout.Tensors)
        {
            int[] shape = view == layout.BiasVector ? [n] : [view.Rows, view.Columns];
            tensors.Add(new TensorSource(view.Name, shape, parameters.AsMemory((int)view.Offset, (int)view.Length)));
            tensors.Add(new TensorSource("grad." + view.Name, shape, gradients.AsMemory((int)view.Offset, (int)view.Length)));
        }
        tensors.Add(new TensorSource("x", [b, n], x.AsMemory(0, b * n)));
        tensors.Add(new TensorSource("importance", [n], config.Instances[0].Importance.Compute(n)));
        tensors.Add(new TensorSource("loss", [1], loss.AsMemory(0, 1)));
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "toymodels.gradients",
            ["config"] = ConfigJson.Write(config.Single(0)),
            ["backend"] = backend.Name,
        };
        SafeTensors.Write(path, tensors, metadata);
    }
}
