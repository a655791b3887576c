using BenchmarkDotNet.Attributes;
using ToyModels.Backends;
using ToyModels.Measure.Tools;

namespace ToyModels.Benchmarks.Suites;

/// <summary>
/// One whole training step (generate, forward, backward, Adam) on the cases S, M and L (untied, Adam) with
/// the SIMD backend, and the reference where it is not absurdly slow (the ragged shape and S; at M and L a reference
/// step takes minutes). The model is a few steps past its start; Benchmarks/compare-pytorch.sh measures steps/s past
/// hundreds of steps. Allocated must read 0 B (or "-") for simd.
/// Run: dotnet run -c Release --project Benchmarks -- --filter '*TrainingStep*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class TrainingStepBenchmarks
{
    private IBackend _backend = null!;
    private OptimizerScalars _scalars = null!;
    private long _step;

    /// <summary>"case/backend".</summary>
    [Params("ragged/reference", "ragged/simd", "S/reference", "S/simd", "M/simd", "L/simd")]
    public string Target { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string[] parts = Target.Split('/');
        var benchCase = BenchCase.Parse(parts[0]);
        var config = benchCase.Config();
        _backend = BackendFactory.Create(BackendFactory.Parse(parts[1]), config);
        _scalars = new OptimizerScalars(config);
        int warm = config.N >= 4096 ? 3 : 10; // past the first steps, where outputs are densest; M and L cost ~1 s a step
        while (_step < warm) Step();
        Console.WriteLine($"// case {benchCase} on {_backend.Name}, {_backend.Description}; {Environment.ProcessorCount} cores");
    }

    [Benchmark]
    public void Step() => _backend.Step(_scalars.Set(_step++));

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();
}
