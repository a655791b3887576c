using System.Diagnostics;
using ToyModels.Backends;
using ToyModels.Backends.Cuda;
using ToyModels.Backends.Kernels;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends.Cuda;

/// <summary>What of the CUDA backend can be checked without a GPU: compiler options, targets, the cache, discovery and fallbacks.</summary>
public class CudaHostTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-cuda-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Nvrtc_options_are_the_exact_math_ones()
    {
        string[] options = Nvrtc.Options("sm_90");
        Assert.Contains("--gpu-architecture=sm_90", options);
        Assert.Contains("--fmad=false", options);
        Assert.Contains("--ftz=false", options);
        Assert.Contains("--prec-div=true", options);
        Assert.Contains("--prec-sqrt=true", options);
        Assert.DoesNotContain(options, o => o.Contains("fast-math", StringComparison.Ordinal) || o.Contains("use_fast_math", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(9, 0, "sm_90", true)]    // H100, H200: a CUBIN for the exact architecture
    [InlineData(8, 6, "sm_86", true)]
    [InlineData(12, 1, "compute_90", false)] // newer than this NVRTC: PTX for the newest architecture below, JIT by the driver
    [InlineData(8, 9, "compute_87", false)]
    public void Target_prefers_a_cubin_for_the_device(int major, int minor, string architecture, bool cubin)
    {
        int[] supported = [75, 80, 86, 87, 90];
        Assert.Equal((architecture, cubin), Nvrtc.Target(major, minor, supported));
    }

    [Fact]
    public void Target_refuses_a_device_older_than_every_supported_architecture()
    {
        var error = Assert.Throws<BackendUnavailableException>(() => Nvrtc.Target(5, 2, [75, 80, 90]));
        Assert.Contains("sm_52", error.Message);
    }

    [Fact]
    public void Cache_keys_change_with_source_options_and_compiler()
    {
        string[] options = Nvrtc.Options("sm_90");
        string key = CubinCache.Key("source", options, (13, 0));
        Assert.Equal(key, CubinCache.Key("source", options, (13, 0)));
        Assert.NotEqual(key, CubinCache.Key("source ", options, (13, 0)));
        Assert.NotEqual(key, CubinCache.Key("source", Nvrtc.Options("sm_80"), (13, 0)));
        Assert.NotEqual(key, CubinCache.Key("source", options, (12, 8)));
        Assert.Matches("^[0-9a-f]{64}$", key);
    }

    [Fact]
    public void Cache_round_trips_and_forgets()
    {
        var cache = new CubinCache(Path.Combine(_folder, "cuda"));
        Assert.Null(cache.TryRead("k", cubin: true));
        cache.TryWrite("k", cubin: true, [1, 2, 3]);
        Assert.Equal([1, 2, 3], cache.TryRead("k", cubin: true));
        Assert.Null(cache.TryRead("k", cubin: false));
        cache.Forget("k", cubin: true);
        Assert.Null(cache.TryRead("k", cubin: true));
    }

    [Fact]
    public void Nvrtc_is_looked_for_by_soname_then_in_the_toolkit()
    {
        var candidates = Nvrtc.LibraryCandidates().ToList();
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"], candidates.Take(3));
        Assert.Contains("/usr/local/cuda/lib64/libnvrtc.so.13", candidates);
    }

    [SkippableFact]
    public void Without_a_driver_cuda_fails_clearly_and_auto_says_why_it_fell_back()
    {
        Skip.If(CudaDriver.TryGet().Driver is not null, "a CUDA driver is present here");
        var config = AutoencoderConfig.Create(8, 3, 0.2, 1e-3, batch: 4);
        var error = Assert.Throws<BackendUnavailableException>(() => BackendFactory.Create(BackendKind.Cuda, config));
        Assert.StartsWith("cuda: no CUDA driver library found", error.Message);
        var notices = new List<string>();
        using var backend = BackendFactory.Create(BackendKind.Auto, config, notice: notices.Add);
        Assert.NotEqual("cuda", backend.Name);
        Assert.Contains(notices, n => n.Contains("cuda: no CUDA driver library found", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Train_with_backend_cuda_exits_1_with_the_reason()
    {
        Skip.If(CudaDriver.TryGet().Driver is not null, "a CUDA driver is present here");
        var result = SampleProcess.Run("train", ["--backend", "cuda", "--n", "8", "--m", "3", "--steps", "1", "--out", Path.Combine(_folder, "run")]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cuda: no CUDA driver library found", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [SkippableFact]
    public void The_cuda_program_is_valid_cpp_for_a_host_compiler_with_shims()
    {
        // NVRTC compiles C++; without a GPU toolkit here, g++ checks the CUDA dialect of the shared source
        // against declarations of the few CUDA built-ins it uses (their semantics are not checked here).
        Skip.If(!File.Exists("/usr/bin/g++"), "g++ is not installed");
        const string shim = """
            struct dim3 { unsigned x, y, z; };
            extern const dim3 blockIdx, threadIdx, blockDim, gridDim;
            #define __global__
            #define __device__
            #define __forceinline__ inline
            #define __shared__ static
            #define __restrict__ __restrict
            float __fadd_rn(float, float); float __fsub_rn(float, float); float __fmul_rn(float, float);
            float __fdiv_rn(float, float); float __fsqrt_rn(float); float __fmaf_rn(float, float, float);
            unsigned __umulhi(unsigned, unsigned); unsigned __float_as_uint(float);
            unsigned atomicCAS(unsigned*, unsigned, unsigned); void __syncthreads();
            """;
        string file = Path.Combine(_folder, "training.cu.cpp");
        File.WriteAllText(file, shim + "\n" + KernelSource.ForCuda());
        var start = new ProcessStartInfo("/usr/bin/g++", ["-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-function", "-Wno-unknown-pragmas", file])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, errors);
    }
}
