using System.Text.RegularExpressions;
using ToyModels.Gpu.Devices;

namespace ToyModels.Gpu.Code;

/// <summary>
/// Reads generated kernel code and lists every place where it could leave the reference's bits
/// (docs/numerics.md): an empty list means clean.
/// </summary>
/// <remarks>
/// PTX: every float add, sub, mul, div, sqrt and fma must carry <c>.rn</c> (without a rounding mode
/// ptxas may contract or approximate), nothing may be <c>.ftz</c> or <c>.approx</c>, no other float
/// arithmetic may appear (max, min, rcp, ...), every float compare must be Exact.Greater's ordered
/// <c>setp.gt.f32</c> (ILGPU toggles the ordered flag of a C# compare with the constant on the left, and
/// negates one for a branch), and every called function must be defined in the module
/// (ILGPU turns <c>MathF.FusedMultiplyAdd</c> into a call to an undefined extern function).
/// OpenCL C: the source starts with <c>#pragma OPENCL FP_CONTRACT OFF</c>, contains no float operator
/// ILGPU wrote itself (only <see cref="Exact"/>'s), divides and takes square roots only in double,
/// uses no native_, half_, mad or fmin/fmax functions, and every barrier fences local memory.
/// </remarks>
internal static partial class CodeAudit
{
    private static readonly HashSet<string> ExactPtx = [.. Exact.PtxInstructions.Values];
    private static readonly HashSet<string> FloatArithmetic = ["add", "sub", "mul", "div", "sqrt", "fma", "mad", "rcp", "rsqrt", "ex2", "lg2", "sin", "cos", "tanh", "max", "min", "copysign"];

    public static IReadOnlyList<string> Ptx(string ptx)
    {
        var findings = new List<string>();
        var defined = new HashSet<string>();
        foreach (Match m in FunctionDefinition().Matches(ptx)) defined.Add(m.Groups[1].Value);
        foreach (Match m in ExternFunction().Matches(ptx)) findings.Add($"declares the extern function {m.Groups[1].Value}");
        foreach (string raw in ptx.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal) || line.StartsWith('.')) continue;
            if (line.StartsWith('@')) line = line[(line.IndexOf(' ') + 1)..].TrimStart();
            string opcode = line.Split([' ', '\t'], 2)[0];
            string[] parts = opcode.Split('.');
            if (opcode.Contains(".ftz", StringComparison.Ordinal) || opcode.Contains(".approx", StringComparison.Ordinal))
                findings.Add($"{opcode}: flush-to-zero or approximate");
            else if (FloatArithmetic.Contains(parts[0]) && (parts.Contains("f32") || parts.Contains("f64")) && !ExactPtx.Contains(opcode))
                findings.Add($"{opcode}: float arithmetic that is not one of {string.Join(", ", ExactPtx)}");
            else if (parts[0] == "setp" && (parts.Contains("f32") || parts.Contains("f64")) && !ExactPtx.Contains(opcode))
                findings.Add($"{opcode}: a float compare that is not Exact.Greater's setp.gt.f32");
            if (parts[0] == "call")
            {
                var target = CallTarget().Match(line);
                string name = target.Success ? target.Groups[1].Value : line;
                if (!defined.Contains(name)) findings.Add($"calls {name}, which the module does not define");
            }
        }
        return findings;
    }

    public static IReadOnlyList<string> OpenCl(string source)
    {
        var findings = new List<string>();
        if (!source.StartsWith(OpenClProgram.ContractOff, StringComparison.Ordinal))
            findings.Add($"does not start with {OpenClProgram.ContractOff}");
        if (source.Contains("FP_CONTRACT ON", StringComparison.Ordinal))
            findings.Add("turns FP_CONTRACT on");
        foreach (Match m in IlgpuFloatOperator().Matches(source))
            findings.Add($"a float operator ILGPU wrote itself: {m.Value.Trim()}");
        foreach (Match m in FloatFunction().Matches(source))
            findings.Add($"the float function {m.Groups[1].Value}");
        foreach (Match m in SquareRoot().Matches(source))
            if (!source.AsSpan(m.Index).StartsWith("sqrt((double)", StringComparison.Ordinal))
                findings.Add("a square root not taken in double");
        foreach (Match m in Barrier().Matches(source))
            if (!m.Value.Contains("CLK_LOCAL_MEM_FENCE", StringComparison.Ordinal))
                findings.Add($"a barrier that does not fence local memory: {m.Value}");
        return findings;
    }

    [GeneratedRegex(@"\.func\s*(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*\{", RegexOptions.Singleline)]
    private static partial Regex FunctionDefinition();

    [GeneratedRegex(@"\.extern\s+\.func\s*(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)")]
    private static partial Regex ExternFunction();

    [GeneratedRegex(@"call(?:\.uni)?\s*(?:\([^)]*\)\s*,\s*)?([A-Za-z_$][\w$]*)")]
    private static partial Regex CallTarget();

    /// <summary>ILGPU writes a float binary operation as <c>(float)((float) a OP (float)b)</c>; Exact's operations are plain.</summary>
    [GeneratedRegex(@"\(float\)\s*\(\s*\(float\)[^;]*;")]
    private static partial Regex IlgpuFloatOperator();

    [GeneratedRegex(@"\b(native_\w+|half_\w+|mad|fmax|fmin|fdim|rsqrt|native_recip)\s*\(")]
    private static partial Regex FloatFunction();

    [GeneratedRegex(@"\bsqrt\s*\(")]
    private static partial Regex SquareRoot();

    [GeneratedRegex(@"\b(?:work_group_barrier|barrier)\s*\([^)]*\)")]
    private static partial Regex Barrier();
}
