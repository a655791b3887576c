using BenchmarkDotNet.Running;
using ToyModels.Measure;

// The BenchmarkDotNet suites: dotnet run -c Release --project Benchmarks -- --filter '*'
// Exits non-zero when a benchmark fails to build or run.
// The measuring verbs (hardware, decoder, memory, kernels) live in Measure/, a program without BenchmarkDotNet that
// publishes trimmed for a GPU machine; they run from here too: dotnet run -c Release --project Benchmarks -- hardware
if (Verbs.Run(args) is int code) return code;
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
