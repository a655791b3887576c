using System.Diagnostics;
using System.Globalization;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Samples;
using ToyModels.Sweeps;

// Samples/Sweep: trains every run of a grid (packed: runs of one shape train together as instances),
// one row per run in results.csv, resumable, shardable, with an HTML report. Run with --help for the options.
return ProgramErrors.Run(() => SweepProgram.Run(args));

internal static class SweepProgram
{
    private const string Help = """
        Samples/Sweep: train a grid of toy models and report on them.

          --grid FILE        the grid (JSON; see README); default: a small built-in grid (n 32, 3 widths x 4 sparsities)
          --out DIR          output folder (default runs/sweep): grid.json, results.csv, metrics/, checkpoints/, report.html
          --shard I/N        train shard I of N (0-based): grid runs I, I+N, I+2N, ...; writes results.shard-I-of-N.csv
                             default from SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) and SLURM_ARRAY_TASK_COUNT,
                             or from JOB_COMPLETION_INDEX (Kubernetes indexed Jobs) with --shard-count
          --shard-count N    the number of shards when the index comes from JOB_COMPLETION_INDEX
          --merge            combine every shard's results into results.csv and write report.html; trains nothing
          --force            use an output folder that holds another grid's results (its rows are kept)
          --pack K           at most K runs trained together as instances of one config (default 64)
          --pack-memory MIB  at most this much training state per pack (default 2048)
          --checkpoints      keep every run's checkpoint (the report's featured runs are always kept)
          --backend NAME     {BACKENDS} (default auto)
          --threads T        host threads, 0 for all cores (default 0)
          --plan             print the shard's packs with the time each takes, estimated from a short calibration
                             of each distinct shape (a second or two; see README), and exit
          --quiet            no progress lines

        A re-run with the same grid and --out skips finished runs; killing it loses at most the runs in flight.
        Exit codes: 0 done, 2 bad input (grid file, options, a folder of another grid), 1 anything else.
        """;

    public static int Run(string[] argv)
    {
        if (argv.Contains("--help") || argv.Contains("-h"))
        {
            Console.WriteLine(Help.Replace("{BACKENDS}", BackendFactory.Names.Replace(", ", " | ")));
            return ProgramErrors.Done;
        }
        try { return Sweep(argv); }
        catch (GridException e) { return BadInput(e.Message); }
        catch (SweepFolderException e) { return BadInput(e.Message); }
        catch (InvalidDataException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ProgramErrors.Failed;
        }
    }

    private static int BadInput(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return ProgramErrors.BadInput;
    }

    private static int Sweep(string[] argv)
    {
        var args = new Arguments(argv);
        string? gridPath = args.String("--grid");
        string outDir = args.String("--out", Path.Combine("runs", "sweep"));
        string? shardText = args.String("--shard");
        int shardCountOption = args.Int("--shard-count", 0, 1, 1_000_000);
        bool merge = args.Flag("--merge");
        bool force = args.Flag("--force");
        int packLimit = args.Int("--pack", 64, 1, 1 << 20);
        long packMemory = args.Long("--pack-memory", 2048, 1, 1L << 40) << 20;
        bool checkpoints = args.Flag("--checkpoints");
        var backendKind = args.Choice("--backend", BackendKind.Auto, BackendFactory.Parse, BackendFactory.Names);
        var backendOptions = new BackendOptions(args.Int("--threads", 0, 0, 4096));
        bool planOnly = args.Flag("--plan");
        bool quiet = args.Flag("--quiet");
        args.Finish();

        var folder = new SweepFolder(outDir);
        if (merge) return Merge(folder, gridPath);

        var grid = gridPath is null ? SweepGrid.Default : SweepGrid.Load(gridPath);
        var (shard, shards) = ResolveShard(shardText, shardCountOption);
        var mine = SweepPlan.Shard(grid.Runs, shard, shards);
        if (planOnly)
        {
            var calibrator = new PackCalibrator(backendKind, backendOptions);
            PrintPlan(grid, shard, shards, s => SweepPlan.Packs(SweepPlan.Shard(grid.Runs, s, shards), packLimit, packMemory), calibrator.Measure,
                () => calibrator.BackendDescription);
            return ProgramErrors.Done;
        }

        folder.Claim(grid, force);
        using var results = ResultsFile.Open(folder.ResultsFile(shard, shards));
        if (results.DroppedBytes > 0)
            Console.Error.WriteLine($"note: dropped a torn last line ({results.DroppedBytes} bytes) of {results.Path}; that run trains again");
        var todo = mine.Where(r => !results.Rows.ContainsKey(r.Id)).ToList();
        var packs = SweepPlan.Packs(todo, packLimit, packMemory);
        var featured = SweepReport.FeaturedRuns(grid).Select(r => r.Id).ToHashSet();
        Console.Error.WriteLine($"sweep {grid.Name}: {grid.Runs.Count} runs" + (shards > 1 ? $"; shard {shard}/{shards}: {mine.Count} runs" : "") +
            $"; {mine.Count - todo.Count} already done, {todo.Count} to train in {packs.Count} pack(s); results in {results.Path}");

        var runner = new SweepRunner(backendKind, backendOptions, notice => Console.Error.WriteLine(notice));
        var lines = quiet ? null : new ProgressLines(2);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        double totalWork = packs.Sum(p => p.Work), doneWork = 0;
        int doneRuns = 0;
        var clock = Stopwatch.StartNew();
        for (int k = 0; k < packs.Count; k++)
        {
            var pack = packs[k];
            var first = pack.Runs[0];
            string packName = $"pack {k + 1}/{packs.Count}: n {first.N}, m {first.M}, {(first.Config.Tied ? "tied" : "untied")}, {pack.Runs.Count} run(s)";
            void Draw(long step, double loss, double speed, bool force)
            {
                double fraction = totalWork > 0 ? (doneWork + pack.Work * step / pack.Steps) / totalWork : 1;
                double elapsed = clock.Elapsed.TotalSeconds;
                double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : double.NaN;
                lines?.Update(fraction,
                [
                    string.Create(CultureInfo.InvariantCulture, $"runs {doneRuns}/{todo.Count} done ({mine.Count - todo.Count} earlier)  {(elapsed > 0 ? doneRuns / elapsed : 0):F2} runs/s  ETA {ProgressLine.Duration(eta)}"),
                    string.Create(CultureInfo.InvariantCulture, $"{packName}  step {step}/{pack.Steps}  loss {loss:G4}  {speed:F1} steps/s"),
                ], force);
            }
            Draw(0, double.NaN, 0, true);
            var outcomes = runner.Train(pack, new Relay<PackProgress>(p => Draw(p.Step, p.MeanLoss, p.StepsPerSecond, false)), cancel.Token);
            if (outcomes is null) break;
            foreach (var outcome in outcomes)
            {
                // The metrics file and checkpoint first, the row last: a row means the run is complete.
                AtomicFile.WriteAllText(folder.MetricsFile(outcome.Run.Id), outcome.Metrics.ToJson() + "\n");
                if (checkpoints || featured.Contains(outcome.Run.Id)) outcome.Checkpoint.Save(folder.CheckpointFile(outcome.Run.Id));
                results.Append(outcome.Result);
            }
            doneRuns += pack.Runs.Count;
            Draw(pack.Steps, outcomes.Average(o => o.Result.TrainLoss), outcomes[0].Result.StepsPerSecond, true);
            doneWork += pack.Work;
        }
        lines?.Done();

        double seconds = clock.Elapsed.TotalSeconds;
        int diverged = results.Rows.Values.Count(r => r.DivergedStep >= 0);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trained {doneRuns} run(s) in {seconds:F1} s on {runner.BackendDescription ?? "(nothing to train)"}; {results.Rows.Count} of {mine.Count} runs of this {(shards > 1 ? "shard" : "grid")} are in {results.Path}") +
            (diverged > 0 ? $"; {diverged} diverged (see diverged_step)" : ""));
        if (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("cancelled: the finished runs are recorded; run the same command again to continue");
            return ProgramErrors.Failed;
        }
        if (shards > 1)
        {
            Console.Error.WriteLine($"shard {shard}/{shards} done; once every shard is done: sweep --merge --out {outDir}");
            return ProgramErrors.Done;
        }
        SweepReport.Write(folder, grid, $"trained on {runner.BackendDescription ?? "an earlier run's backend"}");
        Console.WriteLine($"results  {results.Path}");
        Console.WriteLine($"report   {folder.ReportFile}");
        return ProgramErrors.Done;
    }

    private static int Merge(SweepFolder folder, string? gridPath)
    {
        var grid = folder.LoadGrid();
        if (gridPath is not null && SweepGrid.Load(gridPath).Sha256 != grid.Sha256)
            throw new SweepFolderException($"{folder.Path} holds the grid {grid.Source}, not {gridPath}; merge without --grid, or use the grid's own folder");
        var summary = folder.Merge(grid);
        SweepReport.Write(folder, grid, $"merged from {summary.Files.Count} results file(s)");
        Console.WriteLine($"merged {summary.Found} of {summary.GridRuns} runs from {summary.Files.Count} file(s) into {folder.MergedResults}");
        if (summary.Missing.Count > 0)
            Console.WriteLine($"missing {summary.Missing.Count} run(s), e.g. {string.Join("; ", summary.Missing.Take(3))}: run their shards again, then --merge");
        Console.WriteLine($"report   {folder.ReportFile}");
        return ProgramErrors.Done;
    }

    /// <summary>--shard I/N, else Slurm's array variables, else Kubernetes' JOB_COMPLETION_INDEX with --shard-count, else 0/1.</summary>
    private static (int Index, int Count) ResolveShard(string? text, int countOption)
    {
        if (text is not null)
        {
            var parts = text.Split('/');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || i >= n)
                throw new UsageException("--shard", text, "I/N with 0 <= I < N, e.g. 0/4");
            return (i, n);
        }
        int Env(string name, int min)
        {
            string value = Environment.GetEnvironmentVariable(name)!;
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min)
                throw new UsageException(name, value, $"an integer >= {min} (environment variable)");
            return v;
        }
        bool Has(string name) => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name));
        (int, int) Checked(int index, int count, string source) => index < count ? (index, count)
            : throw new UsageException(source, index.ToString(CultureInfo.InvariantCulture), $"a shard index below the shard count {count}");
        if (Has("SLURM_ARRAY_TASK_ID"))
        {
            if (!Has("SLURM_ARRAY_TASK_COUNT")) throw new UsageException("SLURM_ARRAY_TASK_COUNT", null, "set with SLURM_ARRAY_TASK_ID (or pass --shard I/N)");
            int min = Has("SLURM_ARRAY_TASK_MIN") ? Env("SLURM_ARRAY_TASK_MIN", 0) : 0;
            return Checked(Env("SLURM_ARRAY_TASK_ID", min) - min, Env("SLURM_ARRAY_TASK_COUNT", 1), "SLURM_ARRAY_TASK_ID");
        }
        if (Has("JOB_COMPLETION_INDEX"))
        {
            if (countOption < 1) throw new UsageException("--shard-count", null, "the number of shards, required with JOB_COMPLETION_INDEX (Kubernetes sets no count)");
            return Checked(Env("JOB_COMPLETION_INDEX", 0), countOption, "JOB_COMPLETION_INDEX");
        }
        if (countOption > 0) throw new UsageException("--shard-count", countOption.ToString(CultureInfo.InvariantCulture), "only with JOB_COMPLETION_INDEX; otherwise use --shard I/N");
        return (0, 1);
    }

    /// <summary>
    /// The packs of shard <paramref name="shard"/> with their estimated times, the shard's total and, with several
    /// shards, the slowest shard and the sum (<see cref="SweepEstimate"/>: one calibration per distinct shape).
    /// </summary>
    internal static void PrintPlan(SweepGrid grid, int shard, int shards, Func<int, IReadOnlyList<Pack>> packsOf, Func<Pack, Calibration> measure,
        Func<string?> backend)
    {
        var packs = packsOf(shard);
        Console.WriteLine($"grid {grid.Name} ({grid.Source}): {grid.Runs.Count} runs, sha256 {grid.Sha256}");
        Console.WriteLine($"shard {shard}/{shards}: {packs.Sum(p => p.Runs.Count)} runs in {packs.Count} pack(s)");
        var all = Enumerable.Range(0, shards).Select(s => s == shard ? packs : packsOf(s)).ToList();
        var clock = Stopwatch.StartNew();
        var calibrations = SweepEstimate.Calibrate(all.SelectMany(p => p), measure);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"calibrated {calibrations.Count} shape(s) in {clock.Elapsed.TotalSeconds:F1} s on {backend() ?? "(nothing)"}"));
        var estimates = SweepEstimate.Estimate(packs, calibrations);
        for (int k = 0; k < estimates.Count; k++)
        {
            var (pack, c) = (estimates[k].Pack, estimates[k].Calibration);
            var first = pack.Runs[0];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  pack {k + 1}: n {first.N}, m {first.M}, {(first.Config.Tied ? "tied" : "untied")}, {(first.Config.Bias ? "bias" : "no bias")}, batch {first.Config.Batch}, " +
                $"{pack.Steps} steps, {pack.Runs.Count} instance(s), {pack.Config.EstimatedBytes / (1 << 20)} MiB; " +
                $"estimated {Time(estimates[k].Seconds)} ({c.StepSeconds * 1e3:G3} ms a step for {c.Instances} instance(s))"));
        }
        Console.WriteLine($"shard {shard}/{shards}: estimated {Time(SweepEstimate.Seconds(estimates))}");
        if (shards > 1)
        {
            var times = all.Select(p => SweepEstimate.Seconds(SweepEstimate.Estimate(p, calibrations))).ToList();
            int slowest = times.IndexOf(times.Max());
            Console.WriteLine($"all {shards} shards: the slowest ({slowest}/{shards}) {Time(times[slowest])}, together {Time(times.Sum())}");
        }
        Console.WriteLine("(from steps at the start of training, the densest: an upper estimate for sparse models)");
    }

    /// <summary>"12.3 s", "12m 30s" or "18h 05m" (hours past a day keep counting).</summary>
    internal static string Time(double seconds) => seconds switch
    {
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{(int)(seconds / 60)}m {(int)(seconds % 60):D2}s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(long)(seconds / 3600)}h {(int)(seconds % 3600 / 60):D2}m"),
    };
}

/// <summary>IProgress that reports on the calling thread.</summary>
internal sealed class Relay<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
