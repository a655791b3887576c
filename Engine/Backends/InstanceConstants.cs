using ToyModels.Data;
using ToyModels.Model;

namespace ToyModels.Backends;

/// <summary>
/// Per-instance constants every backend receives from the host, computed in double and rounded once
/// to float (numerics.md rule 1): importance I, the output-gradient scale 2 I / (B n),
/// the data-stream threshold and seed.
/// </summary>
internal sealed class InstanceConstants
{
    /// <summary>I_i per instance: [instances][n].</summary>
    public float[] Importance { get; }
    /// <summary>(float)(2 I_i / (B n)) per instance: [instances][n]; g_y = GradScale (.) (y - x).</summary>
    public float[] GradScale { get; }
    /// <summary>floor(p 2^32) per instance (2^32 for p = 1).</summary>
    public ulong[] Threshold { get; }
    public ulong[] Seed { get; }

    public InstanceConstants(AutoencoderConfig config)
    {
        int n = config.N, k = config.InstanceCount;
        Importance = new float[k * n];
        GradScale = new float[k * n];
        Threshold = new ulong[k];
        Seed = new ulong[k];
        double denominator = (double)config.Batch * n;
        for (int s = 0; s < k; s++)
        {
            var instance = config.Instances[s];
            float[] importance = instance.Importance.Compute(n);
            for (int i = 0; i < n; i++)
            {
                Importance[s * n + i] = importance[i];
                GradScale[s * n + i] = (float)(2.0 * importance[i] / denominator);
            }
            Threshold[s] = DataStream.Threshold(instance.P);
            Seed[s] = instance.Seed;
        }
    }
}
