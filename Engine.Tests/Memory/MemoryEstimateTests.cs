using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.InstanceLanes;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Memory;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Memory;

public class MemoryEstimateTests
{
    /// <summary>
    /// The estimate lists every buffer a SIMD backend allocates, with the bytes it allocates: a change to the
    /// workspace or the lane layout that the estimate does not follow fails here.
    /// </summary>
    [Theory]
    [InlineData(37, 11, 9, false, 1, 1)]
    [InlineData(509, 33, 130, true, 3, 2)]
    [InlineData(4096, 64, 64, false, 1, 3)]
    [InlineData(5, 2, 33, true, 9, 2)]      // instance lanes
    [InlineData(32, 32, 17, false, 20, 1)]  // instance lanes
    public void The_estimate_reserves_what_the_simd_backends_allocate(int n, int m, int batch, bool tied, int instances, int threads)
    {
        var config = ParityCases.Make(n, m, batch, tied, true, 0.1, Importance.Uniform, instances);
        bool lanes = InstanceLanesBackend.Suits(config);
        var parts = lanes ? InstanceLanesMemory.Parts(config, threads, InstructionSets.Best) : SimdMemory.Parts(config, threads);
        long estimated = parts.Where(p => p.Name != "bookkeeping").Sum(p => p.Reserved);
        long before = NativeBuffer.RequestedOnThisThread;
        using (lanes ? new InstanceLanesBackend(config, threads, InstructionSets.Best) : (IBackend)new SimdBackend(config, threads))
            Assert.Equal(NativeBuffer.RequestedOnThisThread - before, estimated);
        foreach (var part in parts.Where(p => p.Name != "bookkeeping"))
            Assert.True(part.Bytes <= part.Reserved, $"{part.Name}: resident {part.Bytes} > allocated {part.Reserved}");
    }

    [Fact]
    public void A_run_that_fits_nowhere_is_refused_before_anything_is_allocated()
    {
        // 2^36 parameters with Adam: over a terabyte.
        var config = AutoencoderConfig.Create(1 << 18, 1 << 17, 0.01, 1e-4, batch: 64);
        long before = GC.GetAllocatedBytesForCurrentThread() + NativeBuffer.RequestedOnThisThread;
        foreach (var kind in new[] { BackendKind.Simd, BackendKind.Auto })
        {
            var error = Assert.Throws<MemoryRefusedException>(() => BackendFactory.Create(kind, config));
            Assert.Contains("GiB", error.Message); // the figures are in the message
            Assert.Contains("is available", error.Message);
            Assert.Contains("parameters", error.Message);
            Assert.True(error.Estimate.HostToAdd > error.Available!.Bytes);
        }
        Assert.True(GC.GetAllocatedBytesForCurrentThread() + NativeBuffer.RequestedOnThisThread - before < 1 << 20, "the refusal allocated the buffers");
    }

    [Fact]
    public void The_reference_backend_refuses_buffers_its_arrays_cannot_hold()
    {
        var config = AutoencoderConfig.Create(65536, 32768, 0.01, 1e-4, batch: 4); // 2^32 parameters: beyond one array
        var error = Assert.Throws<ConfigException>(() => BackendFactory.Create(BackendKind.Reference, config));
        Assert.Contains("simd backend has no such limit", error.Accepted);
    }

    [Fact]
    public void The_estimate_names_its_parts_and_adds_the_callers()
    {
        var config = AutoencoderConfig.Create(512, 128, 0.05, 1e-3, batch: 1024);
        var options = new BackendOptions { HostParts = [new MemoryPart("evaluation rows", 123 << 20)] };
        var estimate = BackendFactory.EstimateMemory(BackendKind.Simd, config, options);
        Assert.Contains(estimate.Parts, p => p.Name == MemoryEstimate.ResidentName && p.Bytes > 0);
        Assert.Contains(estimate.Parts, p => p.Name == "evaluation rows");
        Assert.Equal(estimate.Host - estimate.ResidentNow, estimate.HostToAdd);
        Assert.Equal(0, estimate.Device);
        Assert.StartsWith(MemoryEstimate.Format(estimate.Host), estimate.Describe());
        var device = BackendFactory.EstimateMemory(BackendKind.OpenCl, config);
        Assert.True(device.Device >= 4L * config.Layout.Total * 4, "a GPU backend lists its buffers as device memory");
    }
}
