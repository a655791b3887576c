using System.Diagnostics;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>The engine's gradients against PyTorch autograd (scripts/torch_gradcheck.py), where Debian's python3 has torch.</summary>
[Trait("Category", "Slow")]
public class TorchGradcheckTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-torch-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} is not installed";
        var (code, output) = RunPython("-c", "import torch, numpy");
        return code == 0 ? null : $"{Python} has no torch/numpy (apt-get install python3-torch python3-numpy): {output.Trim()}";
    });

    private static (int Code, string Output) RunPython(params string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    [SkippableTheory]
    [InlineData(37, 9, 21, false, true, "uniform")]
    [InlineData(64, 16, 33, true, true, "power:1.2")]
    [InlineData(17, 5, 8, false, false, "decay:0.9")]
    public void Gradients_agree_with_pytorch_autograd(int n, int m, int batch, bool tied, bool bias, string importance)
    {
        Skip.If(Missing.Value is not null, Missing.Value);
        var config = ParityCases.Make(n, m, batch, tied, bias, 0.3, Importance.Parse(importance), 1);
        using var backend = BackendFactory.Create(BackendKind.Reference, config);
        string dump = Path.Combine(_folder, "dump.safetensors");
        GradientDump.Write(dump, backend);
        var (code, output) = RunPython(Path.Combine(AppContext.BaseDirectory, "scripts", "torch_gradcheck.py"), dump);
        Assert.True(code == 0, output);
        Assert.Contains("autograd check: agree", output);
    }
}
