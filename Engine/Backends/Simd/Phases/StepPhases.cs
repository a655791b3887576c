namespace ToyModels.Backends.Simd.Phases;

/// <summary>
/// The phases of a step in their order, each over a set of instances, run on every thread of the pool or inline on
/// one thread. A phase keeps its arguments while its items run, so a thread that takes whole instances of a pack
/// has phases of its own.
/// </summary>
internal sealed class StepPhases(StepState state)
{
    private readonly GeneratePhase _generate = new(state);
    private readonly EncodePhase _encode = new(state);
    private readonly DecodePhase _decode = new(state);
    private readonly LossPhase _loss = new(state);
    private readonly LossHiddenPhase _lossHidden = new(state);
    private readonly HiddenPhase _hidden = new(state);
    private readonly TransposeHiddenPhase _transposeHidden = new(state);
    private readonly GradientsPhase _gradients = new(state);
    private readonly UpdatePhase _update = new(state);
    // Those of the instances being stepped that take the fused walk, the unfused one, and dense g_h.
    private readonly InstanceSet _fused = new(state.W.Instances), _unfused = new(state.W.Instances), _denseHidden = new(state.W.Instances);

    /// <summary>x: training samples of <paramref name="step"/>, or evaluation samples from <paramref name="firstSample"/>.</summary>
    public void Generate(IItemRunner runner, InstanceSet instances, int rows, long step, long firstSample, bool evaluation) =>
        _generate.Run(runner, instances, rows, step, firstSample, evaluation);

    /// <summary>h and z.</summary>
    public void Forward(IItemRunner runner, InstanceSet instances, int rows)
    {
        _encode.Run(runner, instances, rows);
        _decode.Run(runner, instances, rows);
    }

    /// <summary>The decoder product alone.</summary>
    public void Decode(IItemRunner runner, InstanceSet instances, int rows) => _decode.Run(runner, instances, rows);

    /// <summary>Row losses, without gradients.</summary>
    public void Loss(IItemRunner runner, InstanceSet instances, int rows) => _loss.Run(runner, instances, rows, gradients: false);

    /// <summary>
    /// Loss and g_z; g_h; then the per-feature gradients (into the optimizer when fused). Per
    /// instance, when its last g_z was sparse the loss and the sparse g_h walk run together panel by panel (g_z
    /// is listed while in cache); otherwise the loss runs first and this g_z's density chooses g_h's path
    /// (<see cref="BackwardPlan"/>). Every path gives the same bits: the plan only chooses how fast.
    /// </summary>
    public void Backward(IItemRunner runner, InstanceSet instances, OptimizerScalars? fused, double denseDensity)
    {
        var w = state.W;
        var records = state.Records;
        _fused.Clear();
        _unfused.Clear();
        _denseHidden.Clear();
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            (BackwardPlan.Fuses(records[s].LastDensity, denseDensity) ? _fused : _unfused).Add(s);
        }
        _lossHidden.Run(runner, _fused);
        _loss.Run(runner, _unfused, w.Batch, gradients: true);
        for (int i = 0; i < instances.Count; i++)
        {
            int s = instances[i];
            ref var r = ref records[s];
            bool together = BackwardPlan.Fuses(r.LastDensity, denseDensity); // as chosen above, before LastDensity moves on
            r.LastDensity = BackwardPlan.Density(r.GzNonzero, w.N, w.Batch);
            r.Paths = together ? BackwardPaths.Fused
                : BackwardPlan.Unfused(r.LastDensity, denseDensity, r.GzSmallest, r.DecoderSmallest, r.DecoderNonFinite, r.HSmallest, r.HNonFinite);
            // Filtering the lists costs a little, so only a batch with an empty sample has them filtered.
            r.SkipsEmpty = EmptySamples.Any(w, s, w.Batch) && BackwardPlan.SkipsEmptySamples(r.HSmallest, r.HNonFinite, r.DecoderNonFinite, r.GzSmallest);
            if (r.Paths.Hidden == HiddenGradient.Dense) _denseHidden.Add(s);
        }
        _hidden.Run(runner, _unfused);
        _transposeHidden.Run(runner, _denseHidden);
        _gradients.Run(runner, instances, fused);
        if (fused is not null) state.RecordUpdate(instances, fused.Step);
    }

    /// <summary>The optimizer over the stored gradients.</summary>
    public void Update(IItemRunner runner, InstanceSet instances, OptimizerScalars scalars)
    {
        _update.Run(runner, instances, scalars);
        state.RecordUpdate(instances, scalars.Step);
    }

    /// <summary>A whole training step of the instances: x of the step, h and z, and the backward pass fused with the update.</summary>
    public void Train(IItemRunner runner, InstanceSet instances, OptimizerScalars scalars, double denseDensity)
    {
        _generate.Run(runner, instances, state.W.Batch, scalars.Step, 0, evaluation: false);
        Forward(runner, instances, state.W.Batch);
        Backward(runner, instances, scalars, denseDensity);
    }
}
