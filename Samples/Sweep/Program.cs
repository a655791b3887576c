using System.Diagnostics;
using System.Globalization;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Samples;
using ToyModels.Sweeps;
using ToyModels.Training;

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
                             default: in a Slurm array --array=A-B:S, task ID i trains shard (i-A)/S of SLURM_ARRAY_TASK_COUNT;
                             in a Kubernetes indexed Job, shard JOB_COMPLETION_INDEX of --shard-count
          --shard-count N    the number of shards; the Slurm task ID or JOB_COMPLETION_INDEX is then the shard index
          --merge            combine every shard's results into results.csv and write report.html; trains nothing
          --force            use an output folder that holds another grid's results (its rows are kept)
          --pack K           at most K runs trained together as instances of one config (default 64)
          --pack-memory MIB  at most this much training state per pack (default 2048)
          --checkpoints      keep every run's checkpoint (the report's featured runs are always kept)
          --backend NAME     {BACKENDS} (default auto)
          --threads T        host threads, 0 for all cores (default 0)
          --plan             print the shard's packs with the time each takes, estimated from a short calibration
                             of each distinct shape (a second or two; see README), and exit
          --max-runs N       refuse a grid of more than N runs (default 100000), before expanding it
          --quiet            no progress lines

        A re-run with the same grid and --out skips finished runs; killing it loses at most the runs in flight.
        A run that diverges gets its row (diverged_step, metrics empty); the others carry on.
        Exit codes: 0 done (diverged runs included), 2 bad input (grid file, options, a folder of another grid,
        a grid over --max-runs), 1 anything else.
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
        catch (ShardException e) { return BadInput(e.Message); }
        catch (InvalidDataException e)
        {
            ProgramErrors.Error($"error: {e.Message}");
            return ProgramErrors.Failed;
        }
    }

    private static int BadInput(string message)
    {
        ProgramErrors.Error($"error: {OptionNames.Translate(message)}");
        return ProgramErrors.BadInput;
    }

    private static int Sweep(string[] argv)
    {
        var args = new Arguments(argv);
        string? gridPath = args.Path("--grid");
        string outDir = args.Path("--out", Path.Combine("runs", "sweep"));
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
        long maxRuns = args.Long("--max-runs", SweepGrid.DefaultMaxRuns, 1, long.MaxValue);
        args.Finish();

        var folder = new SweepFolder(outDir);
        if (merge)
        {
            // A folder that does not exist is no sweep's: the merge says so rather than creating it.
            if (string.IsNullOrWhiteSpace(outDir) || Directory.Exists(outDir)) OutputPaths.Folder("--out", outDir);
            return Merge(folder, gridPath, maxRuns);
        }

        var grid = gridPath is null ? SweepGrid.Default : SweepGrid.Load(gridPath, maxRuns);
        var (shard, shards) = SweepShard.Resolve(shardText, shardCountOption, Environment.GetEnvironmentVariable);
        var mine = SweepPlan.Shard(grid.Runs, shard, shards);
        if (planOnly)
        {
            var calibrator = new PackCalibrator(backendKind, backendOptions);
            PrintPlan(grid, shard, shards, s => SweepPlan.Packs(SweepPlan.Shard(grid.Runs, s, shards), packLimit, packMemory), calibrator.Measure,
                () => calibrator.BackendDescription);
            return ProgramErrors.Done;
        }

        OutputPaths.Folder("--out", outDir);
        folder.Claim(grid, force);
        using var results = ResultsFile.Open(folder.ResultsFile(shard, shards));
        if (results.DroppedBytes > 0)
            Console.Error.WriteLine($"note: dropped a torn last line ({results.DroppedBytes} bytes) of {results.Path}; that run trains again");
        // A shard's run recorded in any results file of the folder is done, whatever shard count recorded it:
        // a re-submitted part of a Slurm array (--array=1-2 of --array=0-2) then trains only what is missing.
        IReadOnlyDictionary<string, SweepResult> recorded = shards > 1 ? folder.GridRows(grid).ToDictionary(r => r.RunId) : results.Rows;
        var retrain = folder.RepairMetrics(mine, recorded, Console.Error.WriteLine);
        var todo = mine.Where(r => !recorded.ContainsKey(r.Id) || retrain.Contains(r.Id)).ToList();
        var packs = SweepPlan.Packs(todo, packLimit, packMemory);
        var featured = SweepReport.FeaturedRuns(grid).Select(r => r.Id).ToHashSet();
        Console.Error.WriteLine($"sweep {grid.Name}: {grid.Runs.Count} runs" + (shards > 1 ? $"; shard {shard}/{shards}: {mine.Count} runs" : "") +
            $"; {mine.Count - todo.Count} already done, {todo.Count} to train in {packs.Count} pack(s); results in {results.Path}");

        var runner = new SweepRunner(backendKind, backendOptions, notice => Console.Error.WriteLine(notice));
        // A grid whose largest pack would not fit is refused at once, before any pack trains (each pack is checked again when it starts).
        if (packs.Count > 0)
        {
            var (largest, estimate) = packs.Select(p => (p, runner.EstimateMemory(p))).MaxBy(e => e.Item2.HostToAdd);
            MemoryCheck.Require(estimate, $"the grid's largest pack ({largest.Runs.Count} run(s) of n {largest.Runs[0].N}, m {largest.Runs[0].M}, batch {largest.Config.Batch})");
        }
        var recorder = new RunRecorder(folder, results, run => checkpoints || featured.Contains(run.Id));
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
            IReadOnlyList<RunOutcome> outcomes;
            try { outcomes = runner.Train(pack, new SyncProgress<PackProgress>(p => Draw(p.Step, p.MeanLoss, p.StepsPerSecond, false)), cancel.Token); }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested) { break; } // the pack in flight is lost, the others are recorded
            foreach (var outcome in outcomes)
                if (recorder.Record(outcome) is string warning) Console.Error.WriteLine($"warning: {warning}");
            doneRuns += pack.Runs.Count;
            Draw(pack.Steps, outcomes.Average(o => o.Result.TrainLoss), outcomes[0].Result.StepsPerSecond, true);
            doneWork += pack.Work;
        }
        lines?.Done();

        double seconds = clock.Elapsed.TotalSeconds;
        int diverged = results.Rows.Values.Count(r => r.DivergedStep >= 0);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trained {doneRuns} run(s) in {seconds:F1} s on {runner.BackendDescription ?? "(nothing to train)"}; {mine.Count - todo.Count + doneRuns} of {mine.Count} runs of this {(shards > 1 ? "shard" : "grid")} are done") +
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
        SweepReport.Write(folder, grid, $"trained on {runner.BackendDescription ?? "an earlier run's backend"}", Console.Error.WriteLine);
        Console.WriteLine($"results  {results.Path}");
        Console.WriteLine($"report   {folder.ReportFile}");
        return ProgramErrors.Done;
    }

    private static int Merge(SweepFolder folder, string? gridPath, long maxRuns)
    {
        var grid = folder.LoadGrid(maxRuns);
        if (gridPath is not null && SweepGrid.Load(gridPath, maxRuns).Sha256 != grid.Sha256)
            throw new SweepFolderException($"{folder.Path} holds the grid {grid.Source}, not {gridPath}; merge without --grid, or use the grid's own folder");
        var summary = folder.Merge(grid);
        SweepReport.Write(folder, grid, $"merged from {summary.Files.Count} results file(s)", Console.Error.WriteLine);
        Console.WriteLine($"merged {summary.Found} of {summary.GridRuns} runs from {summary.Files.Count} file(s) into {folder.MergedResults}");
        if (summary.Missing.Count > 0)
            Console.WriteLine($"missing {summary.Missing.Count} run(s), e.g. {string.Join("; ", summary.Missing.Take(3))}: run their shards again, then --merge");
        Console.WriteLine($"report   {folder.ReportFile}");
        return ProgramErrors.Done;
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
