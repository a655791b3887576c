using ToyModels.Sweeps;

namespace ToyModels.Tests.Sweeps;

public class SweepShardTests
{
    /// <summary>The variables Slurm 22.05 gives an array task (as printed by tasks of a real one-node cluster).</summary>
    private static Func<string, string?> SlurmTask(int id, int min, int max, int step, int count) => new Dictionary<string, string>
    {
        ["SLURM_ARRAY_JOB_ID"] = "17",
        ["SLURM_ARRAY_TASK_ID"] = id.ToString(),
        ["SLURM_ARRAY_TASK_MIN"] = min.ToString(),
        ["SLURM_ARRAY_TASK_MAX"] = max.ToString(),
        ["SLURM_ARRAY_TASK_STEP"] = step.ToString(),
        ["SLURM_ARRAY_TASK_COUNT"] = count.ToString(),
    }.GetValueOrDefault;

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        variables.ToDictionary(v => v.Name, v => v.Value).GetValueOrDefault;

    private static readonly Func<string, string?> Nothing = Env();

    [Fact]
    public void Without_options_or_scheduler_the_whole_grid_is_one_shard()
    {
        Assert.Equal(new SweepShard(0, 1), SweepShard.Resolve(null, 0, Nothing));
        Assert.Equal(new SweepShard(0, 1), SweepShard.Resolve(null, 0, Env(("SLURM_ARRAY_TASK_ID", ""), ("JOB_COMPLETION_INDEX", ""))));
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    public void Shard_option(string text, int index, int count) =>
        Assert.Equal(new SweepShard(index, count), SweepShard.Resolve(text, 0, SlurmTask(2, 0, 2, 1, 3)));

    [Theory]
    [InlineData("4/4")]
    [InlineData("-1/4")]
    [InlineData("1/0")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("1/2/3")]
    public void Bad_shard_option_names_the_option_and_value(string text)
    {
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(text, 0, Nothing));
        Assert.Equal($"SweepShard.Parse(text): '{text}' is invalid; accepted: I/N with 0 <= I < N, e.g. 0/4", e.Message);
    }

    [Fact]
    public void Shard_and_shard_count_together_are_refused()
    {
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve("1/4", 4, Nothing));
        Assert.Equal("SweepShard.Resolve(shardCount)", e.Variable);
    }

    /// <summary>
    /// Every geometry of --array=A-B:S gives each shard 0..COUNT-1 to exactly one task, and the same shards as
    /// --array=0-(COUNT-1), so arrays of different geometry write and resume the same shard files.
    /// </summary>
    [Theory]
    [InlineData(0, 1, 3)]      // --array=0-2
    [InlineData(3, 1, 3)]      // --array=3-5 (SLURM_ARRAY_TASK_MIN 3)
    [InlineData(0, 2, 4)]      // --array=0-6:2
    [InlineData(0, 2, 3)]      // --array=0-4:2
    [InlineData(1, 4, 3)]      // --array=1-9:4
    [InlineData(1000, 250, 8)] // --array=1000-2750:250
    public void A_slurm_array_task_trains_shard_id_minus_min_over_step(int min, int step, int count)
    {
        int max = min + step * (count - 1);
        var shards = Enumerable.Range(0, count).Select(k => SweepShard.Resolve(null, 0, SlurmTask(min + k * step, min, max, step, count))).ToList();
        Assert.Equal(Enumerable.Range(0, count).Select(k => new SweepShard(k, count)), shards);
    }

    [Fact]
    public void Slurm_without_min_and_step_is_a_range_from_0()
    {
        var shard = SweepShard.Resolve(null, 0, Env(("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "3")));
        Assert.Equal(new SweepShard(2, 3), shard);
    }

    /// <summary>Slurm gives --array=1,4,5 min 1, max 5, step 1 and count 3: tasks 4 and 5 have no shard of their own.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public void A_list_array_is_refused_naming_its_geometry(int id)
    {
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 0, SlurmTask(id, 1, 5, 1, 3)));
        Assert.Equal("SLURM_ARRAY_TASK_ID", e.Variable);
        Assert.Contains($"'{id}' is invalid", e.Message);
        Assert.Contains("min 1, max 5, step 1, 3 tasks", e.Message);
        Assert.Contains("SweepShard.Resolve(shardCount) N", e.Message);
    }

    /// <summary>--array=5, meant to re-run task 5 of an array, would be shard 0 of 1: the whole grid, into results.csv.</summary>
    [Fact]
    public void A_one_task_array_is_refused_unless_the_shard_count_is_given()
    {
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 0, SlurmTask(5, 5, 5, 1, 1)));
        Assert.Equal("SLURM_ARRAY_TASK_COUNT", e.Variable);
        Assert.Contains("SweepShard.Resolve(shardCount) N", e.Message);
        Assert.Equal(new SweepShard(5, 8), SweepShard.Resolve(null, 8, SlurmTask(5, 5, 5, 1, 1)));
    }

    [Fact]
    public void A_task_off_the_step_is_refused()
    {
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 0, SlurmTask(3, 0, 6, 2, 4)));
        Assert.Equal("SLURM_ARRAY_TASK_ID", e.Variable);
    }

    /// <summary>With a fixed shard count the task ID is the shard, so a list re-submits chosen shards (--array=1,4).</summary>
    [Fact]
    public void With_shard_count_the_slurm_task_id_is_the_shard_index()
    {
        Assert.Equal(new SweepShard(1, 8), SweepShard.Resolve(null, 8, SlurmTask(1, 1, 4, 1, 2)));
        Assert.Equal(new SweepShard(4, 8), SweepShard.Resolve(null, 8, SlurmTask(4, 1, 4, 1, 2)));
        Assert.Equal(new SweepShard(6, 8), SweepShard.Resolve(null, 8, SlurmTask(6, 0, 6, 2, 4)));
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 8, SlurmTask(8, 0, 8, 1, 9)));
        Assert.Equal("SLURM_ARRAY_TASK_ID: '8' is invalid; accepted: a shard index below the shard count 8 (with SweepShard.Resolve(shardCount), the task ID is the shard index)", e.Message);
    }

    [Theory]
    [InlineData("SLURM_ARRAY_TASK_ID", "x")]
    [InlineData("SLURM_ARRAY_TASK_ID", "-1")]
    [InlineData("SLURM_ARRAY_TASK_COUNT", "0")]
    [InlineData("SLURM_ARRAY_TASK_MIN", "4294967296")]
    [InlineData("SLURM_ARRAY_TASK_STEP", "0")]
    public void A_bad_slurm_variable_is_named_with_its_value(string name, string value)
    {
        var variables = new Dictionary<string, string>
        {
            ["SLURM_ARRAY_TASK_ID"] = "1", ["SLURM_ARRAY_TASK_MIN"] = "0", ["SLURM_ARRAY_TASK_MAX"] = "2",
            ["SLURM_ARRAY_TASK_STEP"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "3",
        };
        variables[name] = value;
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 0, variables.GetValueOrDefault));
        Assert.Equal(name, e.Variable);
        Assert.Contains($"'{value}' is invalid", e.Message);
    }

    [Fact]
    public void A_slurm_task_id_without_a_count_names_the_missing_variable()
    {
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 0, Env(("SLURM_ARRAY_TASK_ID", "1"))));
        Assert.Equal("SLURM_ARRAY_TASK_COUNT", e.Variable);
    }

    [Fact]
    public void Kubernetes_completion_index_with_shard_count()
    {
        for (int index = 0; index < 5; index++)
            Assert.Equal(new SweepShard(index, 5), SweepShard.Resolve(null, 5, Env(("JOB_COMPLETION_INDEX", index.ToString()))));
        Assert.Equal("SweepShard.Resolve(shardCount)", Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 0, Env(("JOB_COMPLETION_INDEX", "0")))).Variable);
        var beyond = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 5, Env(("JOB_COMPLETION_INDEX", "5"))));
        Assert.Equal("JOB_COMPLETION_INDEX", beyond.Variable);
        Assert.Contains("completions must equal SweepShard.Resolve(shardCount)", beyond.Message);
    }

    [Fact]
    public void Shard_count_outside_a_scheduler_is_refused()
    {
        var e = Assert.Throws<ShardException>(() => SweepShard.Resolve(null, 4, Nothing));
        Assert.Equal("SweepShard.Resolve(shardCount)", e.Variable);
        Assert.Contains("'4' is invalid", e.Message);
    }
}
