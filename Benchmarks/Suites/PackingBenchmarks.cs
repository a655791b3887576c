using BenchmarkDotNet.Attributes;
using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.Benchmarks.Suites;

/// <summary>
/// Packing: K tiny models (n 20, m 5, batch 1024, each its own seed and p) trained as K instances of one
/// config, against the same K models trained one after another. Both do K x <see cref="Steps"/> instance-steps
/// per operation, so the Ratio column is the throughput gain of packing (target: at least 5x; compare the Median
/// columns on a shared machine). With 8 float lanes (AVX2), K = 8 is one instance per lane, 32 four and 128 sixteen.
/// One after another means what a user would otherwise run: one model at a time on all cores, for many steps
/// (each operation trains the next model in turn for K x Steps steps), so that no idle backend's threads
/// compete with the one that is training.
/// Run: dotnet run -c Release --project Benchmarks -- --filter '*Packing*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class PackingBenchmarks
{
    private const int Steps = 4;
    private IBackend[] _alone = [];
    private OptimizerScalars[] _aloneScalars = [];
    private long[] _aloneStep = [];
    private int _turn;
    private IBackend _packed = null!;
    private OptimizerScalars _packedScalars = null!;
    private long _step;

    [Params(8, 32, 128)]
    public int K { get; set; }

    [Params(BackendKind.Auto)]
    public BackendKind Backend { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var instances = Enumerable.Range(0, K)
            .Select(s => new InstanceSettings((ulong)s, 0.01 * Math.Pow(20, s / (K - 1.0)), 1e-3, Importance.Uniform)).ToArray();
        var packed = new AutoencoderConfig(20, 5, tied: false, bias: true, batch: 1024, instances);
        _packed = BackendFactory.Create(Backend, packed, notice: Console.WriteLine);
        _packedScalars = new OptimizerScalars(packed);
        _alone = Enumerable.Range(0, K).Select(s => BackendFactory.Create(Backend, packed.Single(s))).ToArray();
        _aloneScalars = Enumerable.Range(0, K).Select(s => new OptimizerScalars(packed.Single(s))).ToArray();
        _aloneStep = new long[K];
        Console.WriteLine($"// packing benchmark on {_packed.Description}, {Environment.ProcessorCount} cores");
    }

    [Benchmark(Baseline = true)]
    public void OneAfterAnother()
    {
        int s = _turn++ % K;
        for (int t = 0; t < K * Steps; t++) _alone[s].Step(_aloneScalars[s].Set(_aloneStep[s]++));
    }

    [Benchmark]
    public void Packed()
    {
        for (int t = 0; t < Steps; t++) _packed.Step(_packedScalars.Set(_step + t));
        _step += Steps;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _packed.Dispose();
        foreach (var backend in _alone) backend.Dispose();
    }
}
