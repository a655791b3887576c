namespace ToyModels.Sweeps;

/// <summary>What a short calibration measured on a pack of <see cref="Instances"/> runs of one shape.</summary>
/// <param name="Instances">Instances of the calibration pack.</param>
/// <param name="StepSeconds">Seconds per training step of that pack.</param>
/// <param name="EvaluationSeconds">Seconds per evaluation call of up to a batch of rows per instance (0 when the runs evaluate nothing).</param>
public sealed record Calibration(int Instances, double StepSeconds, double EvaluationSeconds);

/// <summary>A pack's estimated time: its steps and its final evaluation, scaled from its shape's calibration by instances.</summary>
public sealed record PackEstimate(Pack Pack, Calibration Calibration)
{
    /// <summary>Evaluation calls at the end of training: the evaluation samples in batches.</summary>
    public long EvaluationCalls
    {
        get
        {
            var run = Pack.Runs[0];
            return run.EvalSamples <= 0 ? 0 : (run.EvalSamples + run.Config.Batch - 1) / run.Config.Batch;
        }
    }

    /// <summary>(steps x step time + evaluation calls x evaluation time) x this pack's runs / the calibration's.</summary>
    public double Seconds =>
        (Pack.Steps * Calibration.StepSeconds + EvaluationCalls * Calibration.EvaluationSeconds) * Pack.Runs.Count / Calibration.Instances;
}

/// <summary>
/// How long packs and shards take, from a short calibration per distinct shape (<c>Samples/Sweep --plan</c>).
/// </summary>
/// <remarks>
/// For each shape (runs that pack together) the calibration pack is the shape's largest pack, cut to at most
/// <see cref="CalibrationInstances"/> of its runs spread evenly over its sparsities (a pack's cost depends on p),
/// and all of it when its runs are small enough (<see cref="SmallWork"/>): tiny models pack into vector lanes, whose
/// cost grows by groups of lanes rather than by runs. The calibration times a few steps of it from step 0 and one
/// evaluation call. A pack's estimate scales that by its runs (linear in instances) and its steps. The first
/// steps of a training are its densest, so the estimate leans high for sparse models; a shard's estimate is the sum
/// of its packs (they train one after another).
/// </remarks>
public static class SweepEstimate
{
    /// <summary>A big shape's calibration pack holds at most this many runs.</summary>
    internal const int CalibrationInstances = 2;

    /// <summary>A shape whose largest pack has at most this much n x m x batch summed over its runs calibrates on the whole pack.</summary>
    internal const long SmallWork = 1L << 26;

    /// <summary>The calibration pack of one shape, from all its packs: see <see cref="SweepEstimate"/>.</summary>
    internal static Pack CalibrationPack(IEnumerable<Pack> packsOfOneShape)
    {
        var largest = packsOfOneShape.MaxBy(p => p.Runs.Count) ?? throw new ArgumentException("no packs", nameof(packsOfOneShape));
        var first = largest.Runs[0];
        long work = (long)first.N * first.M * first.Config.Batch * largest.Runs.Count;
        if (work <= SmallWork || largest.Runs.Count <= CalibrationInstances) return largest;
        var byP = largest.Runs.OrderBy(r => r.Instance.P).ToList();
        int k = CalibrationInstances;
        // The middles of k equal slices of the runs sorted by p.
        return new Pack(Enumerable.Range(0, k).Select(i => byP[(int)((i + 0.5) * byP.Count / k)]).ToList());
    }

    /// <summary>Calibrates every distinct shape among <paramref name="packs"/> once with <paramref name="measure"/>, keyed by shape.</summary>
    public static IReadOnlyDictionary<string, Calibration> Calibrate(IEnumerable<Pack> packs, Func<Pack, Calibration> measure)
    {
        var calibrations = new Dictionary<string, Calibration>();
        foreach (var shape in packs.GroupBy(p => p.Runs[0].ShapeKey))
        {
            var pack = CalibrationPack(shape);
            var calibration = measure(pack);
            if (calibration.Instances != pack.Runs.Count)
                throw new InvalidOperationException($"a calibration of {pack.Runs.Count} runs reported {calibration.Instances}");
            calibrations[shape.Key] = calibration;
        }
        return calibrations;
    }

    /// <summary>Each pack's estimate from its shape's calibration.</summary>
    public static IReadOnlyList<PackEstimate> Estimate(IEnumerable<Pack> packs, IReadOnlyDictionary<string, Calibration> calibrations) =>
        packs.Select(p => new PackEstimate(p, calibrations.TryGetValue(p.Runs[0].ShapeKey, out var c)
            ? c : throw new ArgumentException($"no calibration for the shape of {p.Runs[0]}", nameof(calibrations)))).ToList();

    /// <summary>Seconds of a shard: its packs one after another.</summary>
    public static double Seconds(IEnumerable<PackEstimate> shard) => shard.Sum(e => e.Seconds);
}
