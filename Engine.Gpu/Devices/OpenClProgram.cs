using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;
using ToyModels.Backends;

namespace ToyModels.Gpu.Devices;

/// <summary>
/// ILGPU's OpenCL C, made to keep the engine's bits, and loaded with a typed launcher.
/// </summary>
/// <remarks>
/// ILGPU builds its OpenCL source with <c>-cl-std=...</c> only and writes no FP_CONTRACT pragma, and
/// a compiler that contracts across statements (POCL does) would fuse a multiply and an add, so the
/// source gets <c>#pragma OPENCL FP_CONTRACT OFF</c> first. ILGPU's group barrier is
/// <c>work_group_barrier(CLK_GLOBAL_MEM_FENCE)</c>, which by the OpenCL specification does not order
/// local memory, so the fence is widened to local and global. The audit (Code/CodeAudit.cs) checks both.
/// </remarks>
internal static class OpenClProgram
{
    public const string ContractOff = "#pragma OPENCL FP_CONTRACT OFF";
    public const string IlgpuBarrier = "work_group_barrier ( CLK_GLOBAL_MEM_FENCE )";
    public const string Barrier = "work_group_barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)";

    /// <summary>The source as this engine builds it.</summary>
    public static string Prepare(string source) => ContractOff + "\n" + source.Replace(IlgpuBarrier, Barrier, StringComparison.Ordinal);

    /// <summary>
    /// Compiles <paramref name="kernel"/> with the accelerator's backend, prepares the source and loads it.
    /// A device without generic address space gets the program only if the source needs none
    /// (ILGPU's O2 infers every address space of these kernels; the audit checks that it does).
    /// </summary>
    public static Action<AcceleratorStream, KernelConfig, T> Load<T>(CLAccelerator accelerator, Action<T> kernel, bool genericAddressSpace)
        where T : struct
    {
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method);
        var compiled = (CLCompiledKernel)accelerator.Backend.Compile(entry, KernelSpecialization.Empty);
        string source = Prepare(compiled.Source);
        if (!genericAddressSpace && source.Contains("__generic", StringComparison.Ordinal))
            throw new BackendUnavailableException($"opencl: {accelerator.Name} has no generic address space, and ILGPU's code of kernel {kernel.Method.Name} needs it");
        var prepared = new CLCompiledKernel(accelerator.Context, (SeparateViewEntryPoint)EntryPointOf(compiled), compiled.Info, source, compiled.CVersion);
        return accelerator.LoadKernel(prepared).CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, T>>();
    }

    /// <summary>ILGPU keeps a compiled kernel's entry point internal; a new kernel from edited source needs it (ILGPU 1.5.3).</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_EntryPoint")]
    private static extern EntryPoint EntryPointOf(CompiledKernel kernel);
}
