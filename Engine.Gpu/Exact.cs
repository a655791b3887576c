using System.Reflection;
using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Intrinsics;
using ILGPU.Util;

namespace ToyModels.Gpu;

/// <summary>
/// Every float operation a kernel performs (docs/numerics.md): one IEEE float32 operation rounded to
/// nearest even, or the fused multiply-add rounded once. Kernels never use the float operators.
/// </summary>
/// <remarks>
/// <para>Why: ILGPU compiles C# float operators to PTX <c>add.f32</c>, <c>sub.f32</c> and <c>mul.f32</c>
/// without a rounding modifier, which ptxas may contract into an FMA; its optimizer folds <c>x + 0</c>
/// (wrong for -0), turns <c>0 - x</c> into a negation (wrong for +0) and regroups constants; and
/// <c>MathF.FusedMultiplyAdd</c> becomes a call to an undefined extern function.</para>
/// <para>How: each method is an ILGPU intrinsic. The CPU accelerator runs its C# body (exact in .NET).
/// For PTX it emits one instruction with an explicit rounding mode (<c>add.rn.f32</c>, ...), which ptxas
/// never contracts or approximates. For OpenCL C it emits the plain operator (the program starts with
/// <c>#pragma OPENCL FP_CONTRACT OFF</c>, <see cref="Devices.OpenClProgram"/>), <c>fma()</c> (correctly
/// rounded by the OpenCL specification), and division and square root in double, rounded once to float:
/// OpenCL's float <c>/</c> and <c>sqrt</c> may be off by 2.5 and 3 ulp, double's are correctly rounded,
/// and with 53 >= 2 * 24 + 2 bits the second rounding cannot change the result (Figueroa 1995,
/// "When is double rounding innocuous?"). The generated code is audited (Code/CodeAudit.cs).</para>
/// </remarks>
internal static class Exact
{
    [IntrinsicImplementation] public static float Add(float a, float b) => a + b;
    [IntrinsicImplementation] public static float Sub(float a, float b) => a - b;
    [IntrinsicImplementation] public static float Mul(float a, float b) => a * b;
    [IntrinsicImplementation] public static float Div(float a, float b) => a / b;
    [IntrinsicImplementation] public static float Sqrt(float a) => MathF.Sqrt(a);
    /// <summary>a * b + c rounded once.</summary>
    [IntrinsicImplementation] public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    /// <summary>
    /// a &gt; b, ordered (false when either is NaN): the one float compare of the kernels (ReLU and its
    /// derivative, rule 5). An intrinsic because ILGPU toggles the ordered flag of a C# compare whose
    /// constant is on the left; behind a call the audit can require that every float compare is this one.
    /// </summary>
    [IntrinsicImplementation] public static bool Greater(float a, float b) => a > b;

    /// <summary>The PTX instruction of each operation.</summary>
    internal static readonly IReadOnlyDictionary<string, string> PtxInstructions = new Dictionary<string, string>
    {
        [nameof(Add)] = "add.rn.f32",
        [nameof(Sub)] = "sub.rn.f32",
        [nameof(Mul)] = "mul.rn.f32",
        [nameof(Div)] = "div.rn.f32",
        [nameof(Sqrt)] = "sqrt.rn.f32",
        [nameof(Fma)] = "fma.rn.f32",
        [nameof(Greater)] = "setp.gt.f32",
    };

    /// <summary>Registers the code generators with a context; every context that compiles kernels needs them.</summary>
    public static void Register(Context context)
    {
        var intrinsics = context.GetIntrinsicManager();
        foreach (string name in PtxInstructions.Keys)
        {
            var method = typeof(Exact).GetMethod(name, BindingFlags.Public | BindingFlags.Static)!;
            intrinsics.RegisterMethod(method, new PTXIntrinsic(typeof(Exact), "Ptx" + name, IntrinsicImplementationMode.GenerateCode));
            intrinsics.RegisterMethod(method, new CLIntrinsic(typeof(Exact), "OpenCl" + name, IntrinsicImplementationMode.GenerateCode));
        }
    }

    // ---- PTX: one instruction with its rounding mode ------------------------------------------

    private static void PtxAdd(PTXBackend backend, PTXCodeGenerator generator, Value value) => Ptx(generator, value, PtxInstructions[nameof(Add)]);
    private static void PtxSub(PTXBackend backend, PTXCodeGenerator generator, Value value) => Ptx(generator, value, PtxInstructions[nameof(Sub)]);
    private static void PtxMul(PTXBackend backend, PTXCodeGenerator generator, Value value) => Ptx(generator, value, PtxInstructions[nameof(Mul)]);
    private static void PtxDiv(PTXBackend backend, PTXCodeGenerator generator, Value value) => Ptx(generator, value, PtxInstructions[nameof(Div)]);
    private static void PtxSqrt(PTXBackend backend, PTXCodeGenerator generator, Value value) => Ptx(generator, value, PtxInstructions[nameof(Sqrt)]);
    private static void PtxFma(PTXBackend backend, PTXCodeGenerator generator, Value value) => Ptx(generator, value, PtxInstructions[nameof(Fma)]);
    private static void PtxGreater(PTXBackend backend, PTXCodeGenerator generator, Value value) => Ptx(generator, value, PtxInstructions[nameof(Greater)]);

    private static void Ptx(PTXCodeGenerator generator, Value value, string instruction)
    {
        var operands = new PTXCodeGenerator.PrimitiveRegister[value.Count];
        for (int k = 0; k < operands.Length; k++) operands[k] = generator.LoadPrimitive(value[k]);
        var target = generator.AllocateHardware(value);
        using var command = generator.BeginCommand(instruction);
        command.AppendArgument(target);
        foreach (var operand in operands) command.AppendArgument(operand);
    }

    // ---- OpenCL C ------------------------------------------------------------------------------

    private static void OpenClAdd(CLBackend backend, CLCodeGenerator generator, Value value) => OpenClOperator(generator, value, "+");
    private static void OpenClSub(CLBackend backend, CLCodeGenerator generator, Value value) => OpenClOperator(generator, value, "-");
    private static void OpenClMul(CLBackend backend, CLCodeGenerator generator, Value value) => OpenClOperator(generator, value, "*");
    private static void OpenClGreater(CLBackend backend, CLCodeGenerator generator, Value value) => OpenClOperator(generator, value, ">");

    private static void OpenClDiv(CLBackend backend, CLCodeGenerator generator, Value value)
    {
        var a = generator.Load(value[0]);
        var b = generator.Load(value[1]);
        var target = generator.Allocate(value);
        using var statement = generator.BeginStatement(target);
        statement.AppendOperation((RawString)"(float)((double)");
        statement.Append(a);
        statement.AppendOperation((RawString)" / (double)");
        statement.Append(b);
        statement.AppendOperation((RawString)")");
    }

    private static void OpenClSqrt(CLBackend backend, CLCodeGenerator generator, Value value)
    {
        var a = generator.Load(value[0]);
        var target = generator.Allocate(value);
        using var statement = generator.BeginStatement(target);
        statement.AppendOperation((RawString)"(float)sqrt((double)");
        statement.Append(a);
        statement.AppendOperation((RawString)")");
    }

    private static void OpenClFma(CLBackend backend, CLCodeGenerator generator, Value value)
    {
        var a = generator.Load(value[0]);
        var b = generator.Load(value[1]);
        var c = generator.Load(value[2]);
        var target = generator.Allocate(value);
        using var statement = generator.BeginStatement(target);
        statement.AppendOperation((RawString)"fma");
        statement.BeginArguments();
        statement.AppendArgument(a);
        statement.AppendArgument(b);
        statement.AppendArgument(c);
        statement.EndArguments();
    }

    private static void OpenClOperator(CLCodeGenerator generator, Value value, string symbol)
    {
        var a = generator.Load(value[0]);
        var b = generator.Load(value[1]);
        var target = generator.Allocate(value);
        using var statement = generator.BeginStatement(target);
        statement.Append(a);
        statement.AppendCommand(symbol);
        statement.Append(b);
    }
}
