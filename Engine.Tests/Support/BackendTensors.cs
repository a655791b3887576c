using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.Tests.Support;

/// <summary>A backend's tensors read out whole, to be held to another backend's bit for bit.</summary>
public static class BackendTensors
{
    public static float[] Read(IBackend backend, TensorKind tensor)
    {
        var values = new float[((Backend)backend).ElementCount(tensor)];
        backend.Read(tensor, values);
        return values;
    }

    /// <summary>Adds the parameters, then the optimizer state.</summary>
    public static void AddState(List<(string What, float[] Values)> tensors, IBackend backend, AutoencoderConfig config)
    {
        var parameters = new float[config.Layout.Total];
        backend.GetParameters(parameters);
        tensors.Add(("parameters", parameters));
        var optimizer = new float[config.OptimizerStateLength()];
        backend.GetOptimizerState(optimizer);
        tensors.Add(("optimizer state", optimizer));
    }
}
