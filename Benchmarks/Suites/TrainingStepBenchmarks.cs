using BenchmarkDotNet.Attributes;
using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.Benchmarks.Suites;

/// <summary>One whole training step (generate, forward, backward, Adam) per backend, on a regular and a ragged shape.</summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private IBackend _backend = null!;
    private OptimizerStep _scalars = null!;
    private long _step;

    [Params("n128-m32-B256", "n509-m37-B67")]
    public string Shape { get; set; } = "";

    [Params(BackendKind.Reference)]
    public BackendKind Backend { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (n, m, b) = Shape switch
        {
            "n128-m32-B256" => (128, 32, 256),
            _ => (509, 37, 67),
        };
        var config = AutoencoderConfig.Create(n, m, p: 0.05, lr: 1e-3, batch: b, seed: 1);
        _backend = BackendFactory.Create(Backend, config);
        _scalars = new OptimizerStep(config);
        for (int k = 0; k < 20; k++) Step(); // past the first steps, where outputs are densest
    }

    [Benchmark]
    public void Step() => _backend.Step(_scalars.Set(_step++));

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();
}
