using ToyModels.Backends;
using ToyModels.Model;
using ToyModels.Samples;
using ToyModels.Training;

namespace ToyModels.Tests.Samples;

/// <summary>The engine names its settings; the programs' errors name their options (Samples/Common/OptionNames).</summary>
public class OptionNamesTests
{
    public static IEnumerable<object[]> Refusals =>
    [
        [(Action)(() => AutoencoderConfig.Create(0, 4, 0.1)), "--n: 0 is invalid; accepted: an integer >= 1"],
        [(Action)(() => AutoencoderConfig.Create(8, 4, 0.1, optimizer: new OptimizerSettings { Eps = 0 })), "--adam-eps: 0 is invalid; accepted: a finite number > 0"],
        [(Action)(() => AutoencoderConfig.Create(8, 4, 0.1, optimizer: new OptimizerSettings { Momentum = 0.5 })),
            "--momentum: 0.5 is invalid; accepted: 0 unless --optimizer is sgd"],
        [(Action)(() => new AutoencoderConfig(8, 4, false, true, 8,
            [new InstanceSettings(0, 0.1, 1e-3, Importance.Uniform), new InstanceSettings(1, 0.1, -1, Importance.Uniform)])),
            "--lr (instance 1): -1 is invalid; accepted: a finite number > 0"],
        [(Action)(() => new TrainerOptions { CheckpointEvery = -2 }.Validate()), "--checkpoint-every: -2 is invalid; accepted: an integer >= 0"],
        [(Action)(() => BackendFactory.Parse("tpu")), $"--backend: tpu is invalid; accepted: {BackendFactory.Names}"],
        [(Action)(() => StandardCases.Get("XXL")), $"--case: XXL is invalid; accepted: {StandardCases.Names}"],
    ];

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_refusal_in_the_engines_terms_reads_in_the_programs_options(Action refused, string expected)
    {
        var e = Assert.Throws<ConfigException>(refused);
        Assert.DoesNotContain("--", e.Message);
        Assert.Equal(expected, $"{OptionNames.Translate(e.Field)}: {e.Value} is invalid; accepted: {OptionNames.Translate(e.Accepted)}");
    }

    [Fact]
    public void A_programs_own_names_come_first_and_unknown_settings_stay_as_they_are()
    {
        var own = new Dictionary<string, string> { ["AutoencoderConfig.Instances"] = "--sparsities" };
        Assert.Equal("--sparsities", OptionNames.Translate("AutoencoderConfig.Instances", own));
        Assert.Equal("--instances", OptionNames.Translate("AutoencoderConfig.Instances"));
        Assert.Equal("Foo.Bar and SLURM_ARRAY_TASK_ID", OptionNames.Translate("Foo.Bar and SLURM_ARRAY_TASK_ID"));
        Assert.Equal("instance 0 diverged at step 3: the loss is NaN; a smaller --lr may help",
            OptionNames.Translate(new DivergenceException(0, 3, "the loss is NaN").Message));
    }
}
