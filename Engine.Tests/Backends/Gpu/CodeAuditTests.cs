using ILGPU;
using ToyModels.Gpu;
using ToyModels.Gpu.Code;
using ToyModels.Gpu.Devices;
using ToyModels.Gpu.Kernels;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>Kernels that break the numerics rules on purpose: the audit must catch each.</summary>
internal static class PlantedKernels
{
    /// <summary>A plain multiply and add: contractible mul.f32 / add.f32, and ILGPU's own OpenCL operators.</summary>
    public static void Contraction(ArrayView<float> v, float b, float c)
    {
        int i = Grid.GlobalIndex.X;
        v[i] = v[i] * b + c;
    }

    /// <summary>ILGPU compiles MathF.FusedMultiplyAdd to a call of an undefined extern function.</summary>
    public static void ManagedFma(ArrayView<float> v, float b, float c)
    {
        int i = Grid.GlobalIndex.X;
        v[i] = MathF.FusedMultiplyAdd(v[i], b, c);
    }

    /// <summary>A compare with the constant on the left: ILGPU toggles its ordered flag (at O2 setp.le with the select swapped: NaN passes).</summary>
    public static void ConstantOnTheLeft(ArrayView<float> v)
    {
        int i = Grid.GlobalIndex.X;
        v[i] = 0f < v[i] ? v[i] : 0f;
    }

    /// <summary>The same arithmetic through the exact operations: clean.</summary>
    public static void Exactly(ArrayView<float> v, float b, float c)
    {
        int i = Grid.GlobalIndex.X;
        v[i] = Exact.Greater(v[i], 0f) ? Exact.Fma(v[i], b, c) : 0f;
    }
}

/// <summary>
/// The generated code of every kernel, PTX for sm_80 and sm_90 and OpenCL C, made without a device and
/// read for anything that could leave the reference's bits (Code/CodeAudit.cs); and proof that the
/// audit can fail.
/// </summary>
public class CodeAuditTests
{
    public static IEnumerable<object[]> Kernels => KernelCatalog.All.Select(k => new object[] { k.Name });

    private static Delegate Kernel(string name) => KernelCatalog.All.Single(k => k.Name == name).Kernel;

    [Theory]
    [MemberData(nameof(Kernels))]
    public void The_ptx_of_every_kernel_is_exact(string name)
    {
        foreach (var architecture in KernelCode.Architectures)
        {
            string ptx = KernelCode.Ptx(Kernel(name), architecture);
            // ILGPU targets the oldest architecture the kernel needs (sm_80 at most); the driver compiles it for the device.
            Assert.Contains(".target sm_", ptx);
            Assert.Empty(CodeAudit.Ptx(ptx));
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void The_opencl_of_every_kernel_is_exact_and_builds_without_generic_address_space(string name)
    {
        string source = KernelCode.OpenCl(Kernel(name));
        Assert.Empty(CodeAudit.OpenCl(source));
        // POCL 3.1 and other OpenCL C 1.2 compilers have no generic address space and no program-scope variables.
        Assert.DoesNotContain("__generic", source);
        Assert.DoesNotContain("shared_var", source);
    }

    [Fact]
    public void Every_kernel_uses_fma_with_rn_in_ptx_where_it_has_a_product()
    {
        string decoder = KernelCode.Ptx(Kernel("decoder"), KernelCode.Architectures[^1]);
        Assert.Equal(64, decoder.Split("fma.rn.f32").Length - 1);   // the 8 x 8 register block, written once
    }

    [Fact]
    public void A_planted_contraction_is_caught_in_ptx_and_in_opencl()
    {
        foreach (var architecture in KernelCode.Architectures)
        {
            var findings = CodeAudit.Ptx(KernelCode.Ptx(PlantedKernels.Contraction, architecture));
            Assert.Contains(findings, f => f.StartsWith("mul.f32", StringComparison.Ordinal));
            Assert.Contains(findings, f => f.StartsWith("add.f32", StringComparison.Ordinal));
        }
        var openCl = CodeAudit.OpenCl(KernelCode.OpenCl(PlantedKernels.Contraction));
        Assert.Contains(openCl, f => f.StartsWith("a float operator ILGPU wrote itself", StringComparison.Ordinal) && f.Contains('*'));
    }

    [Fact]
    public void An_undefined_extern_fma_is_caught()
    {
        var findings = CodeAudit.Ptx(KernelCode.Ptx(PlantedKernels.ManagedFma, KernelCode.Architectures[0]));
        Assert.Contains(findings, f => f.Contains("extern function FusedMultiplyAdd", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Contains("calls FusedMultiplyAdd", StringComparison.Ordinal));
    }

    [Fact]
    public void A_compare_with_its_ordered_flag_toggled_is_caught()
    {
        var findings = CodeAudit.Ptx(KernelCode.Ptx(PlantedKernels.ConstantOnTheLeft, KernelCode.Architectures[0]));
        Assert.Contains(findings, f => f.StartsWith("setp.", StringComparison.Ordinal) && f.Contains("not Exact.Greater", StringComparison.Ordinal));
    }

    [Fact]
    public void Flush_to_zero_and_approximations_are_caught()
    {
        const string ptx = "\tmul.ftz.f32\t%f1, %f2, %f3;\n\tdiv.approx.f32\t%f1, %f2, %f3;\n\tmax.f32\t%f1, %f2, %f3;\n";
        var findings = CodeAudit.Ptx(ptx);
        Assert.Equal(3, findings.Count);
    }

    [Fact]
    public void The_same_arithmetic_through_the_exact_operations_is_clean()
    {
        foreach (var architecture in KernelCode.Architectures)
            Assert.Empty(CodeAudit.Ptx(KernelCode.Ptx(PlantedKernels.Exactly, architecture)));
        Assert.Empty(CodeAudit.OpenCl(KernelCode.OpenCl(PlantedKernels.Exactly)));
    }

    [Fact]
    public void Opencl_without_the_contract_pragma_or_with_a_global_only_barrier_is_caught()
    {
        string source = KernelCode.OpenCl(Kernel("loss"));
        string raw = source[(OpenClProgram.ContractOff.Length + 1)..].Replace(OpenClProgram.Barrier, OpenClProgram.IlgpuBarrier, StringComparison.Ordinal);
        var findings = CodeAudit.OpenCl(raw);
        Assert.Contains(findings, f => f.Contains("FP_CONTRACT OFF", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.StartsWith("a barrier that does not fence local memory", StringComparison.Ordinal));
    }
}
