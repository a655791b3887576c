using ToyModels.Model;

namespace ToyModels.Sweeps;

/// <summary>Runs of one shape trained together as the instances of one config.</summary>
public sealed record Pack(IReadOnlyList<SweepRun> Runs)
{
    /// <summary>The config that trains the pack: the runs' shape, one instance per run, in order.</summary>
    public AutoencoderConfig Config { get; } = Runs[0].Config.WithInstances(Runs.Select(r => r.Instance).ToArray());
    /// <summary>Steps every run of the pack trains.</summary>
    public long Steps => Runs[0].Steps;
    /// <summary>Work in instance-steps times n times m: a backend-independent measure for progress and ETA.</summary>
    public double Work => (double)Steps * Runs.Count * Runs[0].N * Runs[0].M;
}

/// <summary>How a grid is divided among machines and packed into trainings.</summary>
public static class SweepPlan
{
    /// <summary>Shard <paramref name="index"/> of <paramref name="count"/>: grid runs index, index + count, index + 2 count, ...</summary>
    public static IReadOnlyList<SweepRun> Shard(IReadOnlyList<SweepRun> runs, int index, int count)
    {
        if (count < 1 || index < 0 || index >= count) throw new ArgumentOutOfRangeException(nameof(index), $"shard {index}/{count}: need 0 <= i < N");
        return runs.Where(r => r.Index % count == index).ToList();
    }

    /// <summary>
    /// Groups runs of the same shape (in order of first appearance) into packs of at most
    /// <paramref name="maxInstances"/> instances whose training state fits in <paramref name="maxBytes"/>.
    /// </summary>
    public static IReadOnlyList<Pack> Packs(IEnumerable<SweepRun> runs, int maxInstances, long maxBytes)
    {
        if (maxInstances < 1) throw new ConfigException("SweepPlan.Packs(maxInstances)", maxInstances, "an integer >= 1");
        var packs = new List<Pack>();
        foreach (var group in runs.GroupBy(r => r.ShapeKey))
        {
            var list = group.ToList();
            long perInstance = Math.Max(1, list[0].Config.EstimatedBytes);
            int size = (int)Math.Clamp(maxBytes / perInstance, 1, maxInstances);
            for (int start = 0; start < list.Count; start += size)
                packs.Add(new Pack(list.GetRange(start, Math.Min(size, list.Count - start))));
        }
        return packs;
    }
}
