using ToyModels.Samples;

namespace ToyModels.Tests.Samples;

/// <summary>The option parser every sample uses (Samples/Common).</summary>
public class ArgumentsTests
{
    /// <summary>Issue: "--tied --tied" and "--json --json" were accepted while a repeated --n was refused.</summary>
    [Theory]
    [InlineData("--tied", "--tied", "--tied")]
    [InlineData("--json", "--json", "--n", "5", "--json")]
    [InlineData("--n", "--n", "5", "--n", "6")]
    [InlineData("--n", "--n=5", "--n", "5")]
    [InlineData("--out", "--out", "", "--out", "a")]
    public void A_repeated_option_flag_or_not_is_refused_naming_it(string option, params string[] argv)
    {
        var e = Assert.Throws<UsageException>(() => new Arguments(argv));
        Assert.Equal(option, e.Option);
        Assert.Equal($"{option}: given more than once; each option is accepted at most once", e.Message);
    }

    [Fact]
    public void An_empty_path_is_refused_naming_the_option()
    {
        var args = new Arguments(["--out", "", "--grid", " "]);
        Assert.Equal("--out: '' is invalid; accepted: a path (this one is empty)", Assert.Throws<UsageException>(() => args.Path("--out")).Message);
        Assert.Equal("--grid", Assert.Throws<UsageException>(() => args.Path("--grid", "grid.json")).Option);
        Assert.Equal("fallback", args.Path("--model", "fallback"));
    }

    [Fact]
    public void Options_given_once_are_read()
    {
        var args = new Arguments(["--tied", "--n", "5", "--out=", "--json"]);
        Assert.True(args.Flag("--tied"));
        Assert.Equal(5, args.Int("--n", 1, 1));
        Assert.Equal("", args.String("--out"));
        Assert.True(args.Flag("--json"));
        args.Finish();
    }

    /// <summary>Issue: an empty --out or --dump-grads, or a folder given as --dump-grads, failed with a stack trace.</summary>
    [Fact]
    public void Unusable_output_paths_are_bad_input_naming_the_option()
    {
        string folder = Directory.CreateTempSubdirectory("toymodels-arguments-").FullName;
        try
        {
            Assert.Equal("--out: cannot write '': an empty path", Assert.Throws<UsageException>(() => OutputPaths.Folder("--out", "")).Message);
            Assert.Equal($"--dump-grads: cannot write '{folder}': a folder, not a file",
                Assert.Throws<UsageException>(() => OutputPaths.File("--dump-grads", folder)).Message);
            Assert.Equal("--dump-grads", Assert.Throws<UsageException>(() => OutputPaths.File("--dump-grads", "")).Option);
            string run = Path.Combine(folder, "run");
            Assert.Equal(run, OutputPaths.Folder("--out", run));
            Assert.True(Directory.Exists(run));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
