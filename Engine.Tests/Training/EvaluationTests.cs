using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Numerics;
using ToyModels.Training;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Training;

/// <summary>Evaluation streams its rows through R32 lanes: the bits of one reduction, any size, and nothing lost when it fails.</summary>
public class EvaluationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-evaluation-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>R32 as docs/numerics.md states it: lane j adds elements j, j + 32, ... in order, then the halving tree.</summary>
    private static float PlainR32(float[] values)
    {
        var lane = new float[R32.Lanes];
        for (int k = 0; k < values.Length; k++) lane[k % R32.Lanes] += values[k];
        for (int h = R32.Lanes / 2; h >= 1; h /= 2)
            for (int j = 0; j < h; j++) lane[j] += lane[j + h];
        return lane[0];
    }

    [Fact]
    public void R32_accumulated_in_pieces_gives_the_bits_of_the_plain_sum()
    {
        var random = new Random(5);
        for (int length = 0; length < 300; length += 1 + length / 16)
        {
            var values = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1) * MathF.Pow(2, random.Next(-20, 20))).ToArray();
            var lanes = new float[R32.Lanes];
            for (int first = 0; first < length;)
            {
                int count = Math.Min(length - first, random.Next(1, 100));
                R32.Accumulate(lanes, first, values.AsSpan(first, count));
                first += count;
            }
            Bits.Equal([PlainR32(values)], [R32.Sum(values)], $"R32 of {length} values");
            Bits.Equal([PlainR32(values)], [R32.Tree(lanes)], $"R32 of {length} values in pieces");
        }
    }

    [Fact]
    public void Streamed_evaluation_gives_the_bits_of_one_reduction_over_all_rows()
    {
        var config = ParityCases.Make(24, 5, 7, false, true, 0.2, Importance.Uniform, instances: 3);
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 50 });
        trainer.Run(3);
        // All 50 rows of every instance at once, then one reduction: what evaluation computed before it streamed.
        int k = config.InstanceCount;
        var all = new float[k * 50];
        var chunk = new float[k * config.Batch];
        for (int first = 0; first < 50; first += config.Batch)
        {
            int count = Math.Min(config.Batch, 50 - first);
            backend.Evaluate(first, count, chunk.AsSpan(0, k * count));
            for (int s = 0; s < k; s++) chunk.AsSpan(s * count, count).CopyTo(all.AsSpan(s * 50 + first));
        }
        var expected = new float[k];
        LossReduction.Finish(all, 50, config.N, expected);
        Bits.Equal(expected, trainer.Evaluate(), "evaluation loss per instance");
    }

    /// <summary>Issue: 1.5e9 evaluation samples of 2 instances overflowed an int when the rows were gathered into one array.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Evaluation_of_more_rows_than_an_array_holds_finishes()
    {
        var config = AutoencoderConfig.Create(n: 1, m: 1, p: 0.5, lr: 0.01, batch: 1 << 14, instances: 2);
        const int samples = 1_100_000_000; // 2 x 1.1e9 rows > 2^31
        long rows = 0;
        using var backend = new ScriptedBackend(config, (first, count, rowLoss) =>
        {
            Assert.Equal(rows, first);
            rows += count;
            rowLoss.Fill(0.5f);
        });
        var loss = new Trainer(backend, new TrainerOptions { EvalSamples = samples }).Evaluate();
        Assert.Equal(samples, rows);
        Assert.Equal(2, loss.Length);
        Assert.All(loss, l => Assert.True(l > 0 && float.IsFinite(l)));
    }

    /// <summary>Issue: the final checkpoint was written after the evaluation, so a failing evaluation lost the trained run.</summary>
    [Fact]
    public void The_final_checkpoint_is_written_before_the_evaluation()
    {
        var config = ParityCases.Make(16, 4, 8, false, true, 0.2, Importance.Uniform, instances: 2);
        string path = Path.Combine(_folder, "model.safetensors");
        using var backend = new ScriptedBackend(config, (_, _, _) => throw new IOException("the evaluation failed"),
            BackendFactory.Create(BackendKind.Reference, config));
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = 64, CheckpointPath = path });
        Assert.Throws<IOException>(() => trainer.Run(5));
        var checkpoint = Checkpoint.Load(path);
        Assert.Equal(5, checkpoint.Step);
        Assert.Equal(WeightsHash.Of(trainer.Snapshot().Parameters), WeightsHash.Of(checkpoint.Parameters));
    }
}
