using ToyModels.Backends;
using ToyModels.Gpu;
using ToyModels.Gpu.Devices;
using ToyModels.Memory;
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
        Assert.Equal("BackendOptions.Device", error.Field);
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
    [Trait("Category", "Slow")]
    public void Train_with_backend_cuda_exits_1_with_the_reason()
    {
        Skip.If(CudaProblem() is null, "a CUDA device is present here");
        var result = SampleProcess.Run("train", ["--backend", "cuda", "--n", "8", "--m", "3", "--steps", "1", "--out", Path.Combine(_folder, "run")]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cuda: no CUDA driver library found", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    /// <summary>
    /// Untied n 65536, m 8192 with Adam: 2^31 + 2^17 floats of optimizer state, past what the kernels' 32-bit indices
    /// address. Refused by name and limit before any device is opened (so cuda refuses it here, without a driver too).
    /// </summary>
    [Theory]
    [InlineData(BackendKind.Cuda)]
    [InlineData(BackendKind.OpenCl)]
    [InlineData(BackendKind.IlgpuCpu)]
    public void A_buffer_past_the_kernels_32_bit_indices_is_refused_naming_the_limit(BackendKind kind)
    {
        var config = AutoencoderConfig.Create(65536, 8192, 0.001, 1e-3, batch: 1);
        var error = Assert.Throws<ConfigException>(() => BackendFactory.Create(kind, config));
        Assert.Equal("AutoencoderConfig.N, AutoencoderConfig.M, AutoencoderConfig.Batch, AutoencoderConfig.Instances", error.Field);
        Assert.Contains($"optimizer state {2 * config.Layout.Total} elements", error.Message);
        Assert.Contains($"at most {GpuBackend.MaxBufferElements} (2^31 - 2^16) elements per buffer on {BackendFactory.Name(kind)}", error.Message);
        // One instance fewer float in every buffer is allowed: the check is on the largest buffer, not on the model.
        GpuBackend.CheckSizes(AutoencoderConfig.Create(65536, 8192, 0.001, 1e-3, batch: 1, optimizer: new OptimizerSettings { Kind = OptimizerKind.Sgd }), "ilgpu-cpu");
    }

    [Fact]
    public void A_device_that_cannot_hold_the_buffers_refuses_the_run_with_the_figures()
    {
        var config = AutoencoderConfig.Create(512, 64, 0.01, 1e-3, batch: 256);
        var estimate = new MemoryEstimate(GpuBackend.Memory(config, GpuKind.OpenCl));
        Assert.All(estimate.Parts.Where(p => p.Name != "staging of parameter transfers"), p => Assert.Equal(MemoryPlace.Device, p.Place));
        Assert.All(GpuBackend.Memory(config, GpuKind.CpuAccelerator), p => Assert.Equal(MemoryPlace.Host, p.Place)); // its device is this process
        long parameters = config.Layout.Total * 4L;
        Assert.Equal(2 * parameters, estimate.Parts.Single(p => p.Name == "parameters and gradients").Bytes);
        Assert.Equal(2 * parameters, estimate.Parts.Single(p => p.Name == "optimizer state").Bytes);

        MemoryCheck.RequireDevice(estimate, estimate.Device, "a device", "the run");
        var error = Assert.Throws<MemoryRefusedException>(() => MemoryCheck.RequireDevice(estimate, estimate.Device - 1, "a small device", "n 512, m 64"));
        Assert.StartsWith($"n 512, m 64 needs {MemoryEstimate.Format(estimate.Device)} (", error.Message);
        Assert.EndsWith($"of device memory, but a small device has {MemoryEstimate.Format(estimate.Device - 1)}", error.Message);
        Assert.Null(error.Available);
    }

    /// <summary>
    /// A run whose device buffers (30 GB: x, z, g_z and their lists at batch 16384) are more than the OpenCL device has
    /// is refused, exit 2 from Train, before anything is allocated on it.
    /// </summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public void Opencl_refuses_a_run_its_device_cannot_hold()
    {
        Skip.If(OpenClTestDevice.SkipReason is not null, OpenClTestDevice.SkipReason);
        var config = AutoencoderConfig.Create(65536, 256, 0.001, 1e-3, batch: 16384);
        var error = Assert.Throws<MemoryRefusedException>(() => BackendFactory.Create(BackendKind.OpenCl, config, new BackendOptions(Device: OpenClTestDevice.Index)));
        Assert.Contains("of device memory, but ", error.Message);
        Assert.Contains("nonzero lists", error.Message);
        var result = SampleProcess.Run("train", ["--backend", "opencl", "--device", OpenClTestDevice.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--n", "65536", "--m", "256", "--batch", "16384", "--steps", "1", "--out", Path.Combine(_folder, "run")]);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Error}");
        string line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains("of device memory, but ", line);
        Assert.False(Directory.Exists(Path.Combine(_folder, "run")) && Directory.EnumerateFiles(Path.Combine(_folder, "run")).Any(), "a refused run wrote files");
    }
}
