using BenchmarkDotNet.Running;

// The BenchmarkDotNet suites: dotnet run -c Release --project Benchmarks -- --filter '*'
// Exits non-zero when a benchmark fails to build or run.
// The hardware benchmark: dotnet run -c Release --project Benchmarks -- hardware [--quick] (see Hardware/HardwareOptions.cs)
if (args.Length > 0 && args[0] == "hardware") return ToyModels.Benchmarks.Hardware.HardwareCommand.Run(args[1..]);
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
