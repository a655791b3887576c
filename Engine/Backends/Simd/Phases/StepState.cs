using ToyModels.Backends.Simd.Lanes;
using ToyModels.Backends.Simd.Loops;

namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// What the phases of a step share besides the workspace: the kernels, each item's result of the phase just
/// run, and per instance the record the plan chooses paths from.
/// </summary>
internal sealed class StepState
{
    public readonly Workspace W;
    public readonly IStepKernels Kernels;
    /// <summary>Items of the per-feature phases per instance: blocks of <see cref="Blocking.Features"/>.</summary>
    public readonly int FeatureBlocks;
    /// <summary>Per (instance, panel): the result of the last Encode or Loss item.</summary>
    public readonly float[] PanelSmallest;
    public readonly bool[] PanelNonFinite;
    public readonly int[] PanelNonzero;
    /// <summary>Per (instance, feature block): what its update saw.</summary>
    public readonly UpdateResult[] BlockResults;
    public readonly InstanceRecord[] Records;
    /// <summary>Per instance, the first step whose update left a non-finite parameter, or -1.</summary>
    public readonly long[] FirstNonFinite;
    /// <summary>
    /// Whether the decoder leaves out empty samples (<see cref="EmptySamples"/>): null when it pays
    /// (<see cref="EmptySamples.Worth"/>), true whenever there is one, false never. Tests set it to hold both ways to the reference.
    /// </summary>
    public bool? DecodeEmptyOnce;

    /// <summary>Whether the kernels' instruction set has AVX2's gathers (the spreading of z after a decoder that left out empty samples).</summary>
    public readonly bool Gathers;

    public StepState(Workspace w, IStepKernels kernels, InstructionSet set)
    {
        W = w;
        Kernels = kernels;
        Gathers = set >= InstructionSet.Avx2;
        int k = w.Instances;
        FeatureBlocks = Blocking.Count(w.N, Blocking.Features);
        PanelSmallest = new float[k * w.Panels];
        PanelNonFinite = new bool[k * w.Panels];
        PanelNonzero = new int[k * w.Panels];
        BlockResults = new UpdateResult[k * FeatureBlocks];
        Records = new InstanceRecord[k];
        for (int s = 0; s < k; s++) Records[s].LastDensity = 1.0;
        FirstNonFinite = new long[k];
        Array.Fill(FirstNonFinite, -1L);
    }

    /// <summary>Panels of 64 samples that hold <paramref name="rows"/> samples.</summary>
    public static int Panels(int rows) => Blocking.Count(rows, Workspace.Tile);

    /// <summary>After an update of the set's instances: the first non-finite step, and W_out's statistics for the next choice of paths.</summary>
    public void RecordUpdate(InstanceSet instances, long step)
    {
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            bool nonFinite = false;
            float smallest = float.PositiveInfinity;
            for (int block = 0; block < FeatureBlocks; block++)
            {
                var result = BlockResults[s * FeatureBlocks + block];
                nonFinite |= result.NonFinite;
                smallest = MathF.Min(smallest, result.DecoderSmallest);
            }
            if (nonFinite && FirstNonFinite[s] < 0) FirstNonFinite[s] = step;
            Records[s].DecoderNonFinite = nonFinite; // any parameter: conservative for W_out
            Records[s].DecoderSmallest = smallest;
        }
    }

    /// <summary>Per instance of the set, g_z's nonzero count and smallest nonzero magnitude from its panels' results.</summary>
    public void SummarizeGradient(InstanceSet instances, int rows)
    {
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            float smallest = float.PositiveInfinity;
            long nonzero = 0;
            for (int p = 0; p < Panels(rows); p++)
            {
                smallest = MathF.Min(smallest, PanelSmallest[s * W.Panels + p]);
                nonzero += PanelNonzero[s * W.Panels + p];
            }
            Records[s].GzSmallest = smallest;
            Records[s].GzNonzero = nonzero;
        }
    }
}
