using System.Text.Json;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Sweeps;
using ToyModels.Tests.Support;
using ToyModels.Training;

namespace ToyModels.Tests.Model;

/// <summary>
/// One set of defaults: the library, Samples/Train and the sweep grid, given the same settings (and leaving the
/// same things out), train the same bits. Issue: the library's Adam eps was 1e-8 while every program used 1e-7.
/// </summary>
public sealed class DefaultsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-defaults-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The library's weights after <paramref name="steps"/> steps of <paramref name="config"/> on simd.</summary>
    private static string LibraryHash(AutoencoderConfig config, long steps)
    {
        using var backend = BackendFactory.Create(BackendKind.Simd, config);
        new Trainer(backend, new TrainerOptions { EvalSamples = 0 }).Run(steps);
        var parameters = new float[config.Layout.Total];
        backend.GetParameters(parameters);
        return WeightsHash.Of(parameters);
    }

    private string TrainHash(params string[] args)
    {
        var result = SampleProcess.Run("train", [.. args, "--backend", "simd", "--eval-samples", "0", "--json", "--quiet", "--out", Path.Combine(_folder, "train")]);
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.LastLine);
        return json.RootElement.GetProperty("weights_sha256").GetString()!;
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void The_library_and_Samples_Train_give_the_same_weights_from_the_same_settings()
    {
        // Only the shape and the steps are given: p, lr, Adam's settings, batch, init and seed are each side's defaults.
        string library = LibraryHash(AutoencoderConfig.Create(64, 16, Defaults.P), 20);
        Assert.Equal(library, TrainHash("--n", "64", "--m", "16", "--steps", "20"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_standard_case_is_the_same_run_in_the_library_and_in_Samples_Train()
    {
        Assert.Equal(LibraryHash(StandardCases.S.Config(), 2), TrainHash("--case", "S", "--steps", "2"));
    }

    [Fact]
    public void A_grid_that_leaves_everything_out_is_the_library_default_run()
    {
        var run = Assert.Single(SweepGrid.Parse("{}", "empty.json").Runs);
        Assert.Equal(ConfigJson.Write(AutoencoderConfig.Create(Defaults.N, Defaults.M, Defaults.P)), ConfigJson.Write(run.Config));
        Assert.Equal(Defaults.ShortSteps, run.Steps);
        Assert.Equal(Defaults.EvalSamples, run.EvalSamples);
    }

    [Fact]
    public void The_library_defaults_are_the_documented_ones()
    {
        var config = AutoencoderConfig.Create(512, 128, 0.045);
        Assert.Equal(3e-3 / Math.Sqrt(512), config.Instances[0].LearningRate);
        Assert.Equal(1e-7, config.Optimizer.Eps);
        Assert.Equal(1024, config.Batch);
        Assert.Equal(8192, new TrainerOptions().EvalSamples);
        Assert.Equal(StandardCases.S.Shape, $"n {config.N} m {config.M} B {config.Batch} p {config.Instances[0].P}");
    }

    [Fact]
    public void Every_standard_case_is_valid_and_a_bad_name_names_the_accepted_ones()
    {
        Assert.Equal(["Q", "S", "M", "L", "XL", "XL-untied", "ragged"], StandardCases.All.Select(c => c.Name));
        // Config() validates the shape; XL (2^29 parameters) is refused here only for the memory it needs.
        foreach (var c in StandardCases.All.Where(c => (long)c.N * c.M < 1L << 25)) Assert.Equal(c.N, c.Config().N);
        var e = Assert.Throws<ConfigException>(() => StandardCases.Get("XXL"));
        Assert.Equal("StandardCases.Get(name)", e.Field);
        Assert.Contains("Q, S, M, L, XL, XL-untied, ragged", e.Message);
        Assert.Same(StandardCases.M, StandardCases.Get("m"));
    }
}
