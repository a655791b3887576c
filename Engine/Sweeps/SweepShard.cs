using System.Globalization;

namespace ToyModels.Sweeps;

/// <summary>
/// A shard that cannot be worked out: the setting (a parameter of <see cref="SweepShard.Resolve"/>, named as
/// "SweepShard.Resolve(shardCount)") or environment variable (<see cref="Variable"/>), its value and what is accepted.
/// </summary>
public sealed class ShardException(string variable, string? value, string accepted)
    : Exception(value is null ? $"{variable}: {accepted}" : $"{variable}: '{value}' is invalid; accepted: {accepted}")
{
    /// <summary>The setting or environment variable that is wrong.</summary>
    public string Variable { get; } = variable;
}

/// <summary>
/// Which shard of a grid one process trains (<see cref="SweepPlan.Shard"/>): shard <see cref="Index"/> of
/// <see cref="Count"/>, from a shard given as I/N, a Slurm job array or a Kubernetes indexed Job.
/// </summary>
/// <remarks>
/// <para>A Slurm array <c>--array=A-B:S</c> runs the task IDs A, A+S, ..., and gives every task the same
/// SLURM_ARRAY_TASK_MIN (A), _MAX, _STEP (S) and _COUNT. Task ID i trains shard (i - A) / S of COUNT, so
/// <c>--array=0-2</c>, <c>--array=3-5</c> and <c>--array=0-4:2</c> all train shards 0, 1, 2 of 3 into the
/// same files, and a re-submission with any of them resumes the others' work. A list such as
/// <c>--array=1,4,5</c> has no such geometry (Slurm gives it MIN 1, MAX 5, STEP 1, COUNT 3) and is refused, and so
/// is a one-task array (<c>--array=5</c>, meant to re-run task 5, would otherwise train the whole grid).</para>
/// <para>With a fixed shard count (<c>shardCount</c> N) the task ID itself is the shard index, as
/// JOB_COMPLETION_INDEX is for Kubernetes: then any subset of shards can be (re-)submitted, e.g.
/// <c>--array=1,4</c>.</para>
/// <para>A requeued task (scontrol requeue, a node failure) starts again with the same variables, so it
/// resumes its own shard.</para>
/// </remarks>
public readonly record struct SweepShard(int Index, int Count)
{
    /// <summary>The whole grid: shard 0 of 1.</summary>
    public static readonly SweepShard Whole = new(0, 1);

    /// <summary>A shard written I/N (0-based I).</summary>
    public static SweepShard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !TryInt(parts[0], out int index) || !TryInt(parts[1], out int count) || count < 1 || index >= count)
            throw new ShardException("SweepShard.Parse(text)", text, "I/N with 0 <= I < N, e.g. 0/4");
        return new SweepShard(index, count);
    }

    /// <summary>
    /// <paramref name="shard"/> I/N when given; else a Slurm array task (SLURM_ARRAY_TASK_ID); else a Kubernetes indexed Job's
    /// JOB_COMPLETION_INDEX with <paramref name="shardCount"/>; else the whole grid. <paramref name="shardCount"/>
    /// is the number of shards (0 when not given); <paramref name="environment"/> reads an environment variable.
    /// </summary>
    public static SweepShard Resolve(string? shard, int shardCount, Func<string, string?> environment)
    {
        int countOption = shardCount;
        if (shard is not null)
        {
            if (countOption > 0) throw new ShardException(CountSetting, Text(countOption), $"not with {ShardSetting} I/N, which names the count itself");
            return Parse(shard);
        }
        string? Get(string name) => environment(name) is { Length: > 0 } value ? value : null;
        int Read(string name, int min)
        {
            string? value = Get(name);
            if (value is null || !TryInt(value, out int v) || v < min)
                throw new ShardException(name, value, $"an integer >= {min} (environment variable)");
            return v;
        }

        if (Get("SLURM_ARRAY_TASK_ID") is not null)
        {
            int id = Read("SLURM_ARRAY_TASK_ID", 0);
            if (countOption > 0) return Checked(id, countOption, "SLURM_ARRAY_TASK_ID", $"with {CountSetting}, the task ID is the shard index");
            if (Get("SLURM_ARRAY_TASK_COUNT") is null)
                throw new ShardException("SLURM_ARRAY_TASK_COUNT", null, $"set with SLURM_ARRAY_TASK_ID (or give {CountSetting} N, or {ShardSetting} I/N)");
            int count = Read("SLURM_ARRAY_TASK_COUNT", 1);
            if (count == 1)
                throw new ShardException("SLURM_ARRAY_TASK_COUNT", "1", "2 or more tasks: a one-task array (--array=" + Text(id) + ") would train " +
                    $"the whole grid; to re-run one shard of N give {CountSetting} N, and for the whole grid submit without --array");
            int first = Get("SLURM_ARRAY_TASK_MIN") is null ? 0 : Read("SLURM_ARRAY_TASK_MIN", 0);
            int step = Get("SLURM_ARRAY_TASK_STEP") is null ? 1 : Read("SLURM_ARRAY_TASK_STEP", 1);
            int last = Get("SLURM_ARRAY_TASK_MAX") is null ? first + step * (count - 1) : Read("SLURM_ARRAY_TASK_MAX", first);
            if ((long)first + (long)step * (count - 1) != last || id < first || id > last || (id - first) % step != 0)
                throw new ShardException("SLURM_ARRAY_TASK_ID", Text(id),
                    $"a task of an evenly spaced array --array=A-B[:S] (this one has min {first}, max {last}, step {step}, {count} tasks); " +
                    $"for a list of tasks give {CountSetting} N, and the task ID is the shard index");
            return new SweepShard((id - first) / step, count);
        }
        if (Get("JOB_COMPLETION_INDEX") is not null)
        {
            if (countOption < 1) throw new ShardException(CountSetting, null, "the number of shards, required with JOB_COMPLETION_INDEX (Kubernetes sets no count)");
            return Checked(Read("JOB_COMPLETION_INDEX", 0), countOption, "JOB_COMPLETION_INDEX", $"the Job's completions must equal {CountSetting}");
        }
        if (countOption > 0)
            throw new ShardException(CountSetting, Text(countOption), $"only in a Slurm array task or with JOB_COMPLETION_INDEX; otherwise give {ShardSetting} I/N");
        return Whole;
    }

    private const string ShardSetting = "SweepShard.Resolve(shard)", CountSetting = "SweepShard.Resolve(shardCount)";

    private static SweepShard Checked(int index, int count, string source, string hint) => index < count
        ? new SweepShard(index, count)
        : throw new ShardException(source, Text(index), $"a shard index below the shard count {count} ({hint})");

    private static bool TryInt(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
