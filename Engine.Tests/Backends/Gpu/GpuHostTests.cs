using ToyModels.Backends;
using ToyModels.Gpu.Devices;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends.Gpu;

/// <summary>What of the GPU backends can be checked without a GPU: the factory finds them, and cuda refuses clearly where there is no driver.</summary>
public class GpuHostTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-gpu-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string? CudaProblem()
    {
        GpuDevices.Cuda(out string? problem);
        return problem;
    }

    [Fact]
    public void The_factory_finds_the_gpu_backends_by_name() => Assert.NotNull(GpuBackends.Find());

    [Theory]
    [InlineData("cuda", BackendKind.Cuda)]
    [InlineData("opencl", BackendKind.OpenCl)]
    [InlineData("ilgpu-cpu", BackendKind.IlgpuCpu)]
    public void Backend_names_round_trip(string name, BackendKind kind)
    {
        Assert.Equal(kind, BackendFactory.Parse(name));
        Assert.Equal(name, BackendFactory.Name(kind));
        Assert.Contains(name, BackendFactory.Names);
    }

    [Fact]
    public void The_cpu_accelerator_has_one_device()
    {
        var config = AutoencoderConfig.Create(8, 3, 0.2, 1e-3, batch: 4);
        var error = Assert.Throws<ConfigException>(() => BackendFactory.Create(BackendKind.IlgpuCpu, config, new BackendOptions(Device: 1)));
        Assert.Contains("device", error.Message);
    }

    [SkippableFact]
    public void Without_a_driver_cuda_fails_clearly_and_auto_says_why_it_fell_back()
    {
        Skip.If(CudaProblem() is null, "a CUDA device is present here");
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
        Skip.If(CudaProblem() is null, "a CUDA device is present here");
        var result = SampleProcess.Run("train", ["--backend", "cuda", "--n", "8", "--m", "3", "--steps", "1", "--out", Path.Combine(_folder, "run")]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cuda: no CUDA driver library found", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }
}
