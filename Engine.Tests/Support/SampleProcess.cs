using System.Diagnostics;

namespace ToyModels.Tests.Support;

/// <summary>Runs a sample program (built next to the tests) as a child process.</summary>
public static class SampleProcess
{
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public string LastLine => Out.TrimEnd().Split('\n')[^1];
    }

    public static Result Run(string program, IEnumerable<string> args, IDictionary<string, string>? environment = null, int timeoutSeconds = 300)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, program + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; the test project references the sample project");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} ran longer than {timeoutSeconds} s");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }
}
