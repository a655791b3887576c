using System.Text.Json;
using ToyModels.IO;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Samples;

[Trait("Category", "Slow")]
public class TrainProgramTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-train-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly string[] Small = ["--n", "24", "--m", "6", "--batch", "16", "--p", "0.2", "--eval-samples", "64", "--backend", "reference"];

    private SampleProcess.Result Train(params string[] args) => SampleProcess.Run("train", args);

    public static IEnumerable<object[]> InvalidOptions =>
    [
        ["--n", "0"], ["--n", "many"], ["--m", "0"], ["--p", "1.5"], ["--p", "-0.1"], ["--p", "NaN"],
        ["--importance", "zipf:2"], ["--importance", "decay:2"], ["--init", "he"], ["--instances", "0"], ["--batch", "0"],
        ["--steps", "-1"], ["--lr", "0"], ["--lr", "-1"], ["--lr", "Infinity"], ["--optimizer", "rmsprop"],
        ["--adam-eps", "0"], ["--beta1", "1"], ["--beta2", "-0.5"], ["--weight-decay", "-1"], ["--momentum", "0.5"],
        ["--seed", "-5"], ["--backend", "tpu"], ["--threads", "-1"], ["--device", "-1"], ["--eval-samples", "-1"],
        ["--log-every", "0"], ["--eval-every", "0"], ["--checkpoint-every", "0"], ["--warmup-steps", "-1"], ["--warmup-steps", "8000"], ["--resume", "/nonexistent/model.safetensors"],
        ["--tied", "yes"], ["--no-such-option", "1"], ["--out", null!], ["--dump-grads", null!],
    ];

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Invalid_options_exit_2_naming_the_option(string option, string? value)
    {
        var args = new List<string> { option };
        if (value is not null) args.Add(value);
        var result = Train([.. args]);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.Error}");
        string[] lines = result.Error.Trim().Split('\n');
        Assert.Single(lines);
        Assert.Contains(option, lines[0]);
        Assert.DoesNotContain("   at ", result.Error);
    }

    /// <summary>Issue: repeated flags were accepted; an empty path or a folder as a file gave a stack trace or an error without the option.</summary>
    [Theory]
    [InlineData("--tied", "--tied --tied", "given more than once")]
    [InlineData("--json", "--json --json", "given more than once")]
    [InlineData("--out", "--out=", "'' is invalid; accepted: a path (this one is empty)")]
    [InlineData("--dump-grads", "--dump-grads=", "'' is invalid; accepted: a path (this one is empty)")]
    [InlineData("--resume", "--resume=", "'' is invalid; accepted: a path (this one is empty)")]
    [InlineData("--dump-grads", "--dump-grads /tmp", "a folder, not a file")]
    [InlineData("--momentum", "--momentum 0.5", "0.5 is invalid; accepted: 0 unless --optimizer is sgd")] // refused by the engine, named by the program
    public void Repeated_options_and_unusable_paths_exit_2_naming_the_option(string option, string args, string reason)
    {
        var result = Train([.. Small, "--steps", "1", .. args.Split(' ')]);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.Error}");
        string line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith($"error: {option}: ", line);
        Assert.Contains(reason, line);
    }

    /// <summary>Issue: after a kill and a resume, metrics.csv held the steps past the checkpoint twice.</summary>
    [Fact]
    public void Resume_drops_the_metrics_rows_past_the_checkpoint()
    {
        string outDir = Path.Combine(_folder, "killed");
        Assert.Equal(0, Train([.. Small, "--steps", "10", "--log-every", "5", "--out", outDir, "--quiet"]).ExitCode);
        string metrics = Path.Combine(outDir, "metrics.csv");
        // What a run killed after its step-10 checkpoint leaves: rows of steps 15 and 20, then a torn line.
        File.AppendAllText(metrics, "15,0,0.1,,100.00\n20,0,0.1,,100.00\n25,0,0.");
        var resumed = Train(["--resume", Path.Combine(outDir, "model.safetensors"), "--steps", "20", "--log-every", "5", "--backend", "reference",
            "--out", outDir, "--quiet"]);
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        var steps = File.ReadAllLines(metrics).Skip(1).Select(line => line.Split(',')[0]).ToList();
        Assert.Equal(["5", "10", "15", "20"], steps);
        Assert.Equal("step,instance,loss,eval_loss,steps_per_s", File.ReadLines(metrics).First());
    }

    [Fact]
    public void Trains_and_prints_the_summary_and_json()
    {
        string outDir = Path.Combine(_folder, "run");
        var result = Train([.. Small, "--steps", "30", "--out", outDir, "--json"]);
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.LastLine);
        var root = json.RootElement;
        foreach (string field in new[] { "n", "m", "p", "tied", "bias", "batch", "steps", "instances", "backend", "threads", "seed",
                     "final_loss", "eval_loss", "steps_per_s", "warmup_steps", "elapsed_s", "weights_sha256" })
            Assert.True(root.TryGetProperty(field, out _), $"missing {field}");
        Assert.Equal(30, root.GetProperty("steps").GetInt32());
        Assert.Equal("reference", root.GetProperty("backend").GetString());
        Assert.Contains("eval loss", result.Out);
        Assert.Contains("zero output", result.Out);
        Assert.Contains("best linear", result.Out);

        var checkpoint = Checkpoint.Load(Path.Combine(outDir, "model.safetensors"));
        Assert.Equal(30, checkpoint.Step);
        Assert.Equal(root.GetProperty("weights_sha256").GetString(), WeightsHash.Of(checkpoint.Parameters));
        string[] metrics = File.ReadAllLines(Path.Combine(outDir, "metrics.csv"));
        Assert.Equal("step,instance,loss,eval_loss,steps_per_s", metrics[0]);
        Assert.StartsWith("30,0,", metrics[^1]);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal(root.GetProperty("weights_sha256").GetString(), summary.RootElement.GetProperty("weights_sha256").GetString());
    }

    [Fact]
    public void Resume_continues_bit_for_bit_and_refuses_contradictions()
    {
        var straight = Train([.. Small, "--steps", "40", "--out", Path.Combine(_folder, "straight"), "--json"]);
        var first = Train([.. Small, "--steps", "15", "--out", Path.Combine(_folder, "first"), "--json"]);
        Assert.Equal(0, first.ExitCode);
        string model = Path.Combine(_folder, "first", "model.safetensors");
        var resumed = Train(["--resume", model, "--steps", "40", "--backend", "reference", "--out", Path.Combine(_folder, "second"), "--json"]);
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        string Hash(SampleProcess.Result r) => JsonDocument.Parse(r.LastLine).RootElement.GetProperty("weights_sha256").GetString()!;
        Assert.Equal(Hash(straight), Hash(resumed));

        var contradiction = Train(["--resume", model, "--n", "25", "--steps", "40"]);
        Assert.Equal(2, contradiction.ExitCode);
        Assert.Contains("--n", contradiction.Error);
        var backwards = Train(["--resume", model, "--steps", "10"]);
        Assert.Equal(2, backwards.ExitCode);
        Assert.Contains("--steps", backwards.Error);
    }

    [Fact]
    public void Divergence_exits_3_with_the_step()
    {
        var result = Train([.. Small, "--lr", "1e30", "--optimizer", "sgd", "--steps", "50", "--out", Path.Combine(_folder, "boom")]);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("diverged at step", result.Error);
    }

    [Fact]
    public void Dump_grads_writes_the_file_and_trains_nothing()
    {
        string path = Path.Combine(_folder, "grads.safetensors");
        var result = Train([.. Small, "--dump-grads", path]);
        Assert.Equal(0, result.ExitCode);
        var (_, tensors) = SafeTensors.Read(path);
        Assert.Equal([16, 24], tensors["x"].Shape);
    }

    [Fact]
    public void Help_lists_every_option()
    {
        var result = Train("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string option in new[] { "--n", "--m", "--p", "--tied", "--no-bias", "--importance", "--instances", "--batch", "--steps", "--lr",
                     "--optimizer", "--adam-eps", "--weight-decay", "--seed", "--backend", "--threads", "--eval-samples", "--out", "--resume",
                     "--dump-grads", "--json", "--warmup-steps" })
            Assert.Contains(option + " ", result.Out);
    }
}
