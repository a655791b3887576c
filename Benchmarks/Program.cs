using BenchmarkDotNet.Running;
using ToyModels.Benchmarks.Tools;

// The BenchmarkDotNet suites: dotnet run -c Release --project Benchmarks -- --filter '*'
// Exits non-zero when a benchmark fails to build or run.
// The hardware benchmark: dotnet run -c Release --project Benchmarks -- hardware [--quick] (see Hardware/HardwareOptions.cs)
if (args.Length > 0 && args[0] == "hardware") return ToyModels.Benchmarks.Hardware.HardwareCommand.Run(args[1..]);
// Measuring verbs (one run, one figure; the scripts Benchmarks/compare-*.sh call them):
//   decoder [--case M] [--reps 15] [--threads 0]      the dense decoder product alone, GFLOP/s
//   memory [--case L] [--steps 5] [--threads 0]       peak RSS of training against parameters + state + activations
//   kernels --emit ptx|opencl --out DIR               the generated code of every GPU kernel, one file each, audited
try
{
    if (args.Length > 0 && args[0] == "decoder") return DecoderProduct.Run(args.Skip(1));
    if (args.Length > 0 && args[0] == "memory") return PeakMemory.Run(args.Skip(1));
    if (args.Length > 0 && args[0] == "kernels") return KernelsCommand.Run(args[1..]);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
