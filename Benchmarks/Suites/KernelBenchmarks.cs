using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ToyModels.Backends;
using ToyModels.Measure.Tools;

namespace ToyModels.Benchmarks.Suites;

/// <summary>
/// Each phase a backend exposes through IBackend (GenerateBatch, Forward, Backward, Update with Adam) and the
/// fused Step, SIMD against the reference (the baseline of each category: Ratio is the SIMD time over the
/// reference's, 0.05 = 20 times faster), on the ragged shape (n 509, m 37, B 67: every edge path) and case S.
/// Allocated must read 0 B (or "-") for the SIMD backend: its phases allocate nothing once warm.
/// Run: dotnet run -c Release --project Benchmarks -- --filter '*KernelBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class KernelBenchmarks
{
    private IBackend? _reference, _simd;
    private OptimizerScalars _scalars = null!;
    private long _step;

    [Params("ragged", "S")]
    public string Case { get; set; } = "";

    [GlobalSetup(Targets = [nameof(GenerateReference), nameof(ForwardReference), nameof(BackwardReference), nameof(UpdateReference), nameof(StepReference)])]
    public void SetupReference() => _reference = Setup(BackendKind.Reference);

    [GlobalSetup(Targets = [nameof(GenerateSimd), nameof(ForwardSimd), nameof(BackwardSimd), nameof(UpdateSimd), nameof(StepSimd)])]
    public void SetupSimd() => _simd = Setup(BackendKind.Simd);

    /// <summary>
    /// A backend past the first steps (where the outputs are densest), then one batch through every phase, so that
    /// each benchmark finds what its phase needs (x for Forward, h and z for Backward, gradients for Update).
    /// </summary>
    private IBackend Setup(BackendKind kind)
    {
        var benchCase = BenchCase.Parse(Case);
        var config = benchCase.Config();
        var backend = BackendFactory.Create(kind, config);
        _scalars = new OptimizerScalars(config);
        for (_step = 0; _step < WarmSteps; _step++) backend.Step(_scalars.Set(_step));
        backend.GenerateBatch(_step);
        backend.Forward();
        backend.Backward();
        Console.WriteLine($"// case {benchCase} on {backend.Name}, {backend.Description}; {Environment.ProcessorCount} cores");
        return backend;
    }

    private const int WarmSteps = 10;

    [Benchmark(Baseline = true), BenchmarkCategory("GenerateBatch")]
    public void GenerateReference() => _reference!.GenerateBatch(_step);

    [Benchmark, BenchmarkCategory("GenerateBatch")]
    public void GenerateSimd() => _simd!.GenerateBatch(_step);

    [Benchmark(Baseline = true), BenchmarkCategory("Forward")]
    public void ForwardReference() => _reference!.Forward();

    [Benchmark, BenchmarkCategory("Forward")]
    public void ForwardSimd() => _simd!.Forward();

    [Benchmark(Baseline = true), BenchmarkCategory("Backward")]
    public void BackwardReference() => _reference!.Backward();

    [Benchmark, BenchmarkCategory("Backward")]
    public void BackwardSimd() => _simd!.Backward();

    /// <summary>Adam over the gradients of the Backward in the setup, at successive steps.</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("Update")]
    public void UpdateReference() => _reference!.Update(_scalars.Set(_step++));

    [Benchmark, BenchmarkCategory("Update")]
    public void UpdateSimd() => _simd!.Update(_scalars.Set(_step++));

    /// <summary>The whole step; the SIMD backend fuses the phases (and keeps no gradient buffer).</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("Step")]
    public void StepReference() => _reference!.Step(_scalars.Set(_step++));

    [Benchmark, BenchmarkCategory("Step")]
    public void StepSimd() => _simd!.Step(_scalars.Set(_step++));

    [GlobalCleanup]
    public void Cleanup()
    {
        _reference?.Dispose();
        _simd?.Dispose();
    }
}
