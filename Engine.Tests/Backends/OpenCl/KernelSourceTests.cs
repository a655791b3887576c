using System.Text.RegularExpressions;
using ToyModels.Backends.Kernels;

namespace ToyModels.Tests.Backends.OpenCl;

/// <summary>
/// The kernel source is one text for two languages: it must use only the preamble's names, both
/// preambles must define the same names, and the host must launch with the source's group sizes.
/// </summary>
public partial class KernelSourceTests
{
    [GeneratedRegex(@"^#define\s+(\w+)(?:\(|\s|$)", RegexOptions.Multiline)]
    private static partial Regex DefineName();

    [GeneratedRegex(@"^#define\s+(\w+)\s+(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex NumericDefine();

    [GeneratedRegex(@"KERNEL\s+void\s+(\w+)\s*\(")]
    private static partial Regex KernelName();

    private static HashSet<string> Defines(string text) => DefineName().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();

    [Fact]
    public void The_opencl_program_starts_by_switching_contraction_off()
    {
        Assert.StartsWith("#pragma OPENCL FP_CONTRACT OFF\n", KernelSource.ForOpenCl().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Both_preambles_define_the_same_names()
    {
        var openCl = Defines(KernelSource.OpenClPreamble);
        var cuda = Defines(KernelSource.CudaPreamble);
        Assert.Equal(openCl.Order(), cuda.Order());
        foreach (string name in new[] { "KERNEL", "GLOBAL", "LOCAL", "BARRIER", "FADD", "FSUB", "FMUL", "FDIV", "FSQRT", "FMA", "MUL_HI", "ATOMIC_CAS_U32" })
            Assert.Contains(name, openCl);
    }

    [Fact]
    public void The_cuda_preamble_rounds_every_float_operation_explicitly()
    {
        string cuda = KernelSource.CudaPreamble;
        foreach (string intrinsic in new[] { "__fadd_rn", "__fsub_rn", "__fmul_rn", "__fdiv_rn", "__fsqrt_rn", "__fmaf_rn", "__umulhi" })
            Assert.Contains(intrinsic, cuda);
    }

    [Theory]
    [InlineData("get_global_id")] [InlineData("get_local_id")] [InlineData("get_group_id")] [InlineData("__global")] [InlineData("__local")]
    [InlineData("__kernel")] [InlineData("barrier(")] [InlineData("threadIdx")] [InlineData("blockIdx")] [InlineData("__syncthreads")]
    [InlineData("__shared__")] [InlineData("fma(")] [InlineData("sqrt(")] [InlineData("mad(")] [InlineData("native_")] [InlineData("half_")]
    [InlineData("fmax")] [InlineData("fmin")] [InlineData("rsqrt")] [InlineData("exp(")] [InlineData("log(")] [InlineData("pow(")]
    [InlineData("atomic_add")] [InlineData("atomicAdd")] [InlineData("as_uint")] [InlineData("mul_hi")] [InlineData("__umulhi")]
    [InlineData("uint ")] [InlineData("ulong")] [InlineData("size_t")]
    public void The_shared_source_uses_no_language_specific_name(string token)
    {
        string code = Regex.Replace(KernelSource.Training, @"/\*.*?\*/", "", RegexOptions.Singleline);
        Assert.DoesNotContain(token, code);
    }

    [Fact]
    public void The_host_launches_with_the_sources_group_sizes()
    {
        var defines = NumericDefine().Matches(KernelSource.Training).ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value));
        Assert.Equal(KernelSource.GroupSize, defines["GROUP_SIZE"]);
        Assert.Equal(KernelSource.DecoderTileRows, defines["DECODER_TILE_ROWS"]);
        Assert.Equal(KernelSource.DecoderTileFeatures, defines["DECODER_TILE_FEATURES"]);
        Assert.Equal(KernelSource.DecoderGroupSize, defines["DECODER_THREADS_ROWS"] * defines["DECODER_THREADS_FEATURES"]);
        Assert.Equal(KernelSource.CompactGroup, defines["COMPACT_GROUP"]);
        Assert.Equal(KernelSource.ColumnTile, defines["COLUMN_TILE"]);
        Assert.Equal(KernelSource.ColumnSlices, defines["COLUMN_SLICES"]);
        Assert.Equal(KernelSource.LossGroupSize, defines["R32_LANES"]);
    }

    [Fact]
    public void Every_kernel_of_the_source_is_known_to_the_host_and_no_other()
    {
        var inSource = KernelName().Matches(KernelSource.Training).Select(m => m.Groups[1].Value).Order();
        Assert.Equal(inSource, KernelSource.Kernels.Select(k => k.Name).Order());
    }
}
