using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using ToyModels.Gpu.Devices;

namespace ToyModels.Gpu.Code;

/// <summary>
/// The code ILGPU generates for a kernel, without any device: PTX from a <see cref="PTXBackend"/> and
/// OpenCL C from a <see cref="CLBackend"/> constructed directly, with the settings the backends use
/// (O2, the exact intrinsics) and the OpenCL source prepared as <see cref="OpenClProgram"/> loads it.
/// </summary>
internal static class KernelCode
{
    /// <summary>
    /// The architectures the audit covers: A100 and H100/H200. ILGPU writes <c>.target</c> as the oldest
    /// architecture its code needs (sm_80 for both) with the device's PTX ISA; the driver compiles the PTX
    /// for the device itself.
    /// </summary>
    public static readonly CudaArchitecture[] Architectures = [CudaArchitecture.SM_80, CudaArchitecture.SM_90];

    private static readonly Lazy<Context> Compiler = new(() =>
    {
        var context = Context.Create(builder => builder.Optimize(OptimizationLevel.O2).Math(MathMode.Default));
        Exact.Register(context);
        return context;
    });

    private static readonly object Sync = new();

    public static string Ptx(Delegate kernel, CudaArchitecture architecture)
    {
        lock (Sync)
        {
            // The oldest PTX ISA that knows the architecture: what an old driver can still load.
            var isa = architecture.Major >= 9 ? CudaInstructionSet.ISA_78 : CudaInstructionSet.ISA_70;
            using var backend = new PTXBackend(Compiler.Value, new CudaCapabilityContext(architecture), architecture, isa, null);
            return ((PTXCompiledKernel)backend.Compile(Entry(kernel), KernelSpecialization.Empty)).PTXAssembly;
        }
    }

    /// <summary>OpenCL C as a GPU with double precision and generic address space would get it (the most ILGPU may emit).</summary>
    public static string OpenCl(Delegate kernel)
    {
        lock (Sync)
        {
            using var backend = new CLBackend(Compiler.Value,
                new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: true, int64_Atomics: false, subGroups: false),
                CLDeviceVendor.Other, CLCVersion.CL20);
            return OpenClProgram.Prepare(((CLCompiledKernel)backend.Compile(Entry(kernel), KernelSpecialization.Empty)).Source);
        }
    }

    private static EntryPointDescription Entry(Delegate kernel) => EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method);
}
