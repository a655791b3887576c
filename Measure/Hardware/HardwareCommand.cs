using System.Diagnostics;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Measure.Hardware;

/// <summary>
/// <c>measure hardware</c> (also <c>Benchmarks hardware</c>): describes the machine, measures each device's peaks, runs the standard
/// cases on every backend present, checks every weights_sha256 against the recorded one, prints the
/// table and writes the JSON. Exit codes: 0 all good, 1 a mismatch or a failure, 2 bad arguments.
/// </summary>
internal static class HardwareCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(HardwareOptions.Usage);
            return 0;
        }
        try
        {
            var options = HardwareOptions.Parse(args);
            if (options.Compare is var (a, b)) return CompareCommand.Run(a, b, Console.Out);
            // The output is checked before anything is measured: an unwritable one would lose the whole run.
            Writable(options.RecordFile is not null ? "--record" : "--json-out", options.RecordFile ?? options.JsonOut);
            if (options.RecordFile is not null) return Record(options);
            return Benchmark(options);
        }
        catch (HardwareArgumentException e)
        {
            Console.Error.WriteLine($"hardware: {e.Message}");
            Console.Error.WriteLine(HardwareOptions.Usage);
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"hardware: {e.Message}");
            return 1;
        }
    }

    private static void Writable(string option, string path)
    {
        if (AtomicFile.Unwritable(path) is { } reason) throw new HardwareArgumentException($"{option}: cannot write '{path}': {reason}");
    }

    private static int Benchmark(HardwareOptions options)
    {
        var started = DateTime.UtcNow;
        var wall = Stopwatch.StartNew();
        var expected = ExpectedHashes.Read(options.ExpectedFile);
        var cases = options.CaseList.Select(HardwareCases.Get).ToList();
        var progress = new ProgressDisplay();

        var machine = MachineDescription.Discover();
        ResultsTable.WriteMachine(Console.Out, machine);
        Console.WriteLine();
        var devices = BenchmarkDevice.Find(options.Backends, options.Threads, machine);

        var peaks = new Dictionary<string, Peak?>();
        var peakProblems = new Dictionary<string, string>();
        foreach (var device in devices.Where(d => d.Unavailable is null))
        {
            progress.Update($"{device.Id}: measuring the FMA and bandwidth peaks");
            try
            {
                var peak = device.MeasurePeak();
                peaks[device.Id] = peak;
                progress.Done($"{device.Id}: peak {peak.FmaGflops:F1} GFLOP/s FMA, {peak.BandwidthGBps:F1} GB/s");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                peaks[device.Id] = null;
                peakProblems[device.Id] = $"peak not measured: {e.Message}";
                progress.Done($"{device.Id}: peak not measured: {e.Message}");
            }
        }

        var results = new List<DeviceResult>();
        foreach (var device in devices)
        {
            var rows = new List<CaseResult>();
            var peak = peaks.GetValueOrDefault(device.Id);
            foreach (var c in cases)
            {
                var row = CaseRunner.Run(device, c, expected, peak, options.CaseBudgetSeconds, progress, Estimate(rows, c));
                rows.Add(row);
                progress.Done($"{device.Id} {c.Name}: {row.Status}" + (row.StepsPerSecond is double s ? $", {s:F2} steps/s" : "") +
                    (row.Reason is null ? "" : $" ({row.Reason})"));
            }
            results.Add(new DeviceResult(device.Id, device.Name, null, peak, device.Unavailable ?? peakProblems.GetValueOrDefault(device.Id), rows));
        }

        int mismatches = results.Sum(d => d.Cases.Count(c => c.Status == CaseStatus.Mismatch));
        int failures = results.Sum(d => d.Cases.Count(c => c.Status == CaseStatus.Failed));
        var report = new HardwareReport(HardwareReport.CurrentSchema, options.Quick ? "quick" : "full", started, wall.Elapsed.TotalSeconds,
            Path.GetFullPath(options.ExpectedFile), machine, results, mismatches, failures);

        // The tables first: should the file fail to be written after all (checked writable at the start), they are on screen.
        Console.WriteLine();
        ResultsTable.WritePeaks(Console.Out, results);
        Console.WriteLine();
        ResultsTable.WriteCases(Console.Out, results);
        report.Write(options.JsonOut);
        Console.WriteLine();
        Console.WriteLine($"Results: {Path.GetFullPath(options.JsonOut)} (wall time {wall.Elapsed.TotalSeconds:F0} s)");
        if (mismatches + failures > 0)
        {
            Console.WriteLine($"*** {mismatches} device/case pair(s) did not reproduce the recorded weights_sha256, {failures} failed: see the table ***");
            return 1;
        }
        return 0;
    }

    /// <summary>This case's step time projected from the device's last case that ran, scaled by the dense-equivalent work.</summary>
    private static (double, string)? Estimate(List<CaseResult> done, BenchmarkCase next)
    {
        var last = done.LastOrDefault(r => r.StepsPerSecond is not null);
        if (last is null) return null;
        var previous = HardwareCases.Get(last.Case);
        return (FlopCount.DenseEquivalent(next) / FlopCount.DenseEquivalent(previous) / last.StepsPerSecond!.Value, last.Case);
    }

    /// <summary>
    /// Runs the cases on the simd backend (the reference backend's bits, far faster than the reference for
    /// M, L and XL) and writes the hashes after the short and the full timed run of each, from one run.
    /// </summary>
    private static int Record(HardwareOptions options)
    {
        var names = options.Cases ?? HardwareOptions.CaseNames;
        var machine = MachineDescription.Discover();
        var progress = new ProgressDisplay();
        var recorded = new List<ExpectedHash>();
        int wanted = 0;
        foreach (var c in names.Select(HardwareCases.Get))
        {
            var variants = HardwareCases.Variants(c).ToList();
            wanted += variants.Count;
            try
            {
                var clock = Stopwatch.StartNew();
                var config = c.Config();
                using var backend = BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(Threads: options.Threads));
                var scalars = new OptimizerScalars(config);
                for (long step = 0; step < c.Steps; step++)
                {
                    progress.Update($"record {c.Name}: step {step + 1}/{c.Steps}");
                    backend.Step(scalars.Set(step));
                    foreach (var v in variants.Where(v => v.Steps == step + 1))
                    {
                        string hash = WeightsHash.Of(backend);
                        recorded.Add(new ExpectedHash(v.Name, v.N, v.M, v.Batch, v.P, v.Tied, v.Steps, hash, $"simd, {machine.SimdInstructionSet}"));
                        progress.Done($"{v.Name} ({v.Shape}, {v.Steps} steps): {hash} ({clock.Elapsed.TotalSeconds:F1} s)");
                    }
                }
            }
            catch (Exception e) when (e is ConfigException or OutOfMemoryException or MemoryRefusedException)
            {
                progress.Done($"{c.Name}: not recorded: {e.Message}");
            }
        }
        var existing = File.Exists(options.RecordFile) ? ExpectedHashes.Read(options.RecordFile!) : new ExpectedHashes(ExpectedHashes.DefaultNote, []);
        existing.With(recorded).Write(options.RecordFile!);
        Console.WriteLine($"Recorded {recorded.Count} of {wanted} case definition(s) in {Path.GetFullPath(options.RecordFile!)}");
        return recorded.Count == wanted ? 0 : 1;
    }
}
