using System.Diagnostics;

namespace ToyModels.Benchmarks.Hardware;

/// <summary>
/// <c>Benchmarks hardware</c>: describes the machine, measures each device's peaks, runs the standard
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
            if (options.RecordFile is not null) return Record(options);
            return Benchmark(options);
        }
        catch (HardwareArgumentException e)
        {
            Console.Error.WriteLine($"hardware: {e.Message}");
            Console.Error.WriteLine(HardwareOptions.Usage);
            return 2;
        }
    }

    private static int Benchmark(HardwareOptions options)
    {
        var started = DateTime.UtcNow;
        var wall = Stopwatch.StartNew();
        var expected = ExpectedHashes.Read(options.ExpectedFile);
        var cases = options.CaseList.Select(StandardCases.Get).ToList();
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
                var row = CaseRunner.Run(device, c, expected, peak, options.CaseBudgetSeconds, progress);
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
        report.Write(options.JsonOut);

        Console.WriteLine();
        ResultsTable.WritePeaks(Console.Out, results);
        Console.WriteLine();
        ResultsTable.WriteCases(Console.Out, results);
        Console.WriteLine();
        Console.WriteLine($"Results: {Path.GetFullPath(options.JsonOut)} (wall time {wall.Elapsed.TotalSeconds:F0} s)");
        if (mismatches + failures > 0)
        {
            Console.WriteLine($"*** {mismatches} device/case pair(s) did not reproduce the recorded weights_sha256, {failures} failed: see the table ***");
            return 1;
        }
        return 0;
    }

    /// <summary>Runs the cases on the simd backend (the reference backend's bits, much faster) and writes their hashes.</summary>
    private static int Record(HardwareOptions options)
    {
        var names = options.Cases ?? HardwareOptions.CaseNames;
        var machine = MachineDescription.Discover();
        var simd = BenchmarkDevice.Find(["simd"], options.Threads, machine)[0];
        var progress = new ProgressDisplay();
        var recorded = new List<ExpectedHash>();
        foreach (var c in names.Select(StandardCases.Get))
        {
            var row = CaseRunner.Run(simd, c, null, null, double.PositiveInfinity, progress);
            if (row.WeightsSha256 is null)
            {
                progress.Done($"{c.Name}: not recorded: {row.Status}: {row.Reason}");
                continue;
            }
            recorded.Add(new ExpectedHash(c.Name, c.N, c.M, c.Batch, c.P, c.Tied, c.Steps, row.WeightsSha256, $"simd, {machine.SimdInstructionSet}"));
            progress.Done($"{c.Name} ({c.Shape}, {c.Steps} steps): {row.WeightsSha256}");
        }
        var existing = File.Exists(options.RecordFile) ? ExpectedHashes.Read(options.RecordFile!) : new ExpectedHashes(ExpectedHashes.DefaultNote, []);
        existing.With(recorded).Write(options.RecordFile!);
        Console.WriteLine($"Recorded {recorded.Count} case(s) in {Path.GetFullPath(options.RecordFile!)}");
        return recorded.Count == names.Count ? 0 : 1;
    }
}
