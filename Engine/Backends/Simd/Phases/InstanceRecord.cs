namespace ToyModels.Backends.Simd.Phases;

/// <summary>Per instance, what the phases measured that the next choice of paths needs (<see cref="BackwardPlan"/>).</summary>
internal struct InstanceRecord
{
    /// <summary>Smallest nonzero finite |h| of the last Forward, and whether some h was not finite.</summary>
    public float HSmallest;
    public bool HNonFinite;
    /// <summary>g_z's smallest nonzero magnitude and nonzero count, from the last loss with gradients.</summary>
    public float GzSmallest;
    public long GzNonzero;
    /// <summary>Smallest nonzero |W_out|, and whether W_out or the bias may not be finite (after an update: any parameter, conservative); updates keep them current.</summary>
    public float DecoderSmallest;
    public bool DecoderNonFinite;
    /// <summary>The g_z density of the last Backward (1 before any): the guess that chooses the fused walk before g_z exists.</summary>
    public double LastDensity;
    /// <summary>The paths of the Backward in progress.</summary>
    public BackwardPaths Paths;
    /// <summary>Whether the Backward in progress leaves the samples with no active feature out of the sparse gW_out walk (<see cref="BackwardPlan.SkipsEmptySamples"/>).</summary>
    public bool SkipsEmpty;
}
