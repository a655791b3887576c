using ToyModels.Gpu.Code;
using ToyModels.Gpu.Kernels;

namespace ToyModels.Measure.Tools;

/// <summary>
/// <c>kernels --emit ptx|opencl --out DIR</c>: writes the code ILGPU generates for every training
/// kernel, one file per kernel (PTX for sm_80 and sm_90: NAME.sm_80.ptx, NAME.sm_90.ptx; OpenCL C:
/// NAME.cl, as the engine builds it), and prints the audit's findings for each. No device is needed.
/// Exit code 1 when the audit finds anything.
/// </summary>
internal static class KernelsCommand
{
    public const string Usage = "usage: measure kernels --emit ptx|opencl --out DIR";

    public static int Run(IReadOnlyList<string> args)
    {
        var options = new ToolOptions("kernels", args, "--emit", "--out");
        string emit = options.String("--emit", "");
        string folder = options.String("--out", "");
        if (emit is not ("ptx" or "opencl")) throw new ArgumentException($"--emit: '{emit}' is not one of ptx, opencl; {Usage}");
        if (folder.Length == 0) throw new ArgumentException($"--out DIR is required; {Usage}");
        Directory.CreateDirectory(folder);
        int findings = 0;
        foreach (var (name, kernel) in KernelCatalog.All)
        {
            var files = emit == "ptx"
                ? KernelCode.Architectures.Select(a => ($"{name}.{a.ToString().ToLowerInvariant()}.ptx", KernelCode.Ptx(kernel, a), true))
                : [($"{name}.cl", KernelCode.OpenCl(kernel), false)];
            foreach (var (file, code, ptx) in files)
            {
                File.WriteAllText(Path.Combine(folder, file), code);
                var problems = ptx ? CodeAudit.Ptx(code) : CodeAudit.OpenCl(code);
                findings += problems.Count;
                Console.WriteLine($"{file,-40} {code.Length,8} chars  {(problems.Count == 0 ? "audit: clean" : "audit: " + string.Join("; ", problems))}");
            }
        }
        Console.WriteLine($"wrote {(emit == "ptx" ? KernelCode.Architectures.Length : 1) * KernelCatalog.All.Count} files to {folder}");
        return findings == 0 ? 0 : 1;
    }
}
