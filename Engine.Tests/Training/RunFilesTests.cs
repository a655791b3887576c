using ToyModels.Model;
using ToyModels.Training;

namespace ToyModels.Tests.Training;

/// <summary>
/// summary.json and metrics.csv, written by the engine for Samples/Train: their bytes are pinned here (the format
/// Samples/Train wrote before they moved into the engine), and neither is ever left half-written.
/// </summary>
public class RunFilesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-runfiles-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static TrainingSummary Summary(AutoencoderConfig config, TrainingResult result) => new()
    {
        Config = config,
        Result = result,
        Completed = true,
        WeightsSha256 = new string('a', 64),
        Backend = "simd",
        Device = "AVX2 + FMA, 2 threads",
        Threads = 2,
        WarmupSteps = 5,
        MemoryEstimateBytes = 123456,
        PeakRssBytes = 234567,
        Out = "runs/x",
    };

    [Fact]
    public void The_summary_of_one_instance_has_the_fields_of_Samples_Train_in_order()
    {
        var config = AutoencoderConfig.Create(64, 16, 0.05, 1e-3, batch: 256, seed: 3);
        var result = new TrainingResult(2000, [0.0125f], [0.0131f], 1234.56789, TimeSpan.FromSeconds(1.62349), [-1]);
        Assert.Equal("""{"n":64,"m":16,"p":0.05,"tied":false,"bias":true,"batch":256,"steps":2000,"instances":1,"importance":"uniform","optimizer":"adam","lr":0.001,"backend":"simd","device":"AVX2 \u002B FMA, 2 threads","threads":2,"seed":3,"final_loss":0.012500000186264515,"eval_loss":0.013100000098347664,"zero_loss":0.016666666666666666,"linear_loss":0.012239583333333333,"steps_per_s":1234.568,"warmup_steps":5,"elapsed_s":1.623,"weights_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","memory_estimate_bytes":123456,"peak_rss_bytes":234567,"completed":true,"out":"runs/x"}""",
            Summary(config, result).ToJson());
    }

    [Fact]
    public void The_summary_of_several_instances_gives_means_and_each_loss_and_nulls_what_is_unknown()
    {
        var config = AutoencoderConfig.Create(8, 2, 0.1, 1e-3, batch: 16, instances: 2, importance: Importance.Decay(0.9));
        var result = new TrainingResult(7, [0.5f, float.NaN], null, 0, TimeSpan.Zero, [-1, 4]);
        string path = Path.Combine(_folder, "summary.json");
        (Summary(config, result) with { Completed = false }).Save(path);
        Assert.Equal("""{"n":8,"m":2,"p":0.1,"tied":false,"bias":true,"batch":16,"steps":7,"instances":2,"importance":"decay:0.9","optimizer":"adam","lr":0.001,"backend":"simd","device":"AVX2 \u002B FMA, 2 threads","threads":2,"seed":0,"final_loss":null,"eval_loss":null,"zero_loss":""" +
            Summary(config, result).ZeroLoss.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + ""","linear_loss":null,"steps_per_s":0,"warmup_steps":5,"elapsed_s":0,"weights_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","memory_estimate_bytes":123456,"peak_rss_bytes":234567,"completed":false,"instance_final_loss":[0.5,null],"instance_eval_loss":[],"out":"runs/x"}""" + "\n",
            File.ReadAllText(path));
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Metrics_rows_are_appended_whole_and_a_resume_keeps_those_up_to_its_step()
    {
        string path = Path.Combine(_folder, "sub", "metrics.csv");
        using (var metrics = new MetricsFile(path))
        {
            metrics.Append(new TrainingProgress(5, 10, [0.25f, 0.125f], null, 1234.567, TimeSpan.Zero));
            metrics.Append(new TrainingProgress(10, 10, [0.1f, 0.2f], [0.3f, 0.4f], 99.999, TimeSpan.Zero));
        }
        Assert.Equal("step,instance,loss,eval_loss,steps_per_s\n5,0,0.25,,1234.57\n5,1,0.125,,1234.57\n10,0,0.1,0.3,100.00\n10,1,0.2,0.4,100.00\n",
            File.ReadAllText(path));

        File.AppendAllText(path, "15,0,0.");  // a torn last line, as a killed process leaves it
        using (var resumed = new MetricsFile(path, resumedAt: 5))
            resumed.Append(new TrainingProgress(6, 10, [0.5f, 0.5f], null, 1, TimeSpan.Zero));
        Assert.Equal("step,instance,loss,eval_loss,steps_per_s\n5,0,0.25,,1234.57\n5,1,0.125,,1234.57\n6,0,0.5,,1.00\n6,1,0.5,,1.00\n",
            File.ReadAllText(path));
    }
}
