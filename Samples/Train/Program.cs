using System.Globalization;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;
using ToyModels.Samples;
using ToyModels.Training;

// Samples/Train: the main job. Trains the toy model of superposition and prints what it reached
// next to the baselines a reader needs. Run with --help for the options.
return ProgramErrors.Run(() => TrainProgram.Run(args));

internal static class TrainProgram
{
    private static readonly string Help = $$"""
        Samples/Train: train the toy model of superposition (Elhage et al. 2022; Cowsik et al. 2024).

        Model
          --case NAME            a benchmark case's shape as the defaults of --n --m --batch --p (and
                                 tied where the case is): {{string.Join(",\n" + new string(' ', 25), StandardCases.All.Select(c => $"{c.Name} ({c.Shape})"))}}
          --n N                  features (default {{Defaults.N}})
          --m M                  hidden dimensions (default {{Defaults.M}})
          --p P                  probability that a feature is active, in [0, 1] (default {{Defaults.P}})
          --tied                 W_out = W_in^T (default untied)
          --no-bias              no output bias b
          --importance SPEC      uniform | decay:R (I_i = R^i) | power:K (I_i = (i+1)^(-K/2)) (default uniform)
          --init KIND            uniform (PyTorch nn.Linear) | xavier (default uniform)
          --instances K          models trained side by side, instance s seeded with seed + s (default 1)
        Training
          --batch B              samples per step (default {{Defaults.Batch}})
          --steps N              total optimizer steps (default {{Defaults.Steps}})
          --lr LR                learning rate (default {{Defaults.LearningRateFormula}})
          --optimizer NAME       adam | adamw | sgd (default adam)
          --adam-eps EPS         Adam's epsilon (default {{Defaults.AdamEps}})
          --beta1 B1, --beta2 B2 Adam's betas (default {{Defaults.Beta1}}, {{Defaults.Beta2}})
          --weight-decay WD      L2 for adam and sgd, decoupled for adamw (default 0)
          --momentum MU          SGD momentum (default 0)
          --seed S               run seed (default 0)
          --eval-samples E       evaluation samples, 0 for none (default {{Defaults.EvalSamples}})
          --log-every N          read the loss every N steps (default: 100 reports per run)
          --eval-every N         evaluate every N steps (default: at the end)
          --warmup-steps N       leave the first N steps of this run out of steps/s (they train as
                                 usual; for benchmarks; default 0)
        Where
          --backend NAME         {BACKENDS} (default auto: a CUDA device, else an OpenCL GPU
                                 that computes the engine's bits, else simd; it says which)
          --threads T            host threads, 0 for all cores (default 0)
          --device D             which device (default 0): cuda the driver's ordinal, opencl all OpenCL
                                 devices of all platforms, auto the CUDA ordinal or the OpenCL GPUs
        Output
          --out DIR              write model.safetensors, metrics.csv, summary.json (default runs/train-TIME)
          --checkpoint-every N   also rewrite DIR/model.safetensors every N steps
          --resume FILE          continue from a checkpoint up to --steps, with the config stored in it
          --dump-grads FILE      write step-0 parameters, batch, loss and gradients of instance 0, then exit
          --json                 print one JSON object as the last line of standard output
          --quiet                no progress line

        Exit codes: 0 done, 2 bad input, 3 diverged, 1 anything else.
        """;

    public static int Run(string[] argv)
    {
        if (argv.Contains("--help") || argv.Contains("-h"))
        {
            Console.WriteLine(Help.Replace("{BACKENDS}", BackendFactory.Names.Replace(", ", " | ")));
            return ProgramErrors.Done;
        }
        var args = new Arguments(argv);
        string? resume = args.Path("--resume");
        // The header only: the run is sized (and refused if it does not fit) before the tensors stream into the backend.
        CheckpointReader? checkpoint = null;
        try { if (resume is not null) checkpoint = CheckpointReader.Open(resume); }
        catch (CheckpointException e) { throw UsageException.File("--resume", e); }
        using var openCheckpoint = checkpoint;
        var config = checkpoint is null ? ConfigFromArguments(args) : CheckAgainst(args, checkpoint.Config);

        long steps = args.Long("--steps", Defaults.Steps, 0, AutoencoderConfig.MaxSteps);
        var backendKind = args.Choice("--backend", BackendKind.Auto, BackendFactory.Parse, BackendFactory.Names);
        var backendOptions = new BackendOptions(args.Int("--threads", 0, 0, 4096), args.Int("--device", 0, 0, 4096));
        int evalSamples = args.Int("--eval-samples", Defaults.EvalSamples, 0);
        long logEvery = args.Long("--log-every", 0, 1, long.MaxValue);
        long evalEvery = args.Long("--eval-every", 0, 1, long.MaxValue);
        long checkpointEvery = args.Long("--checkpoint-every", 0, 1, long.MaxValue);
        long warmupSteps = args.Long("--warmup-steps", 0, 0, AutoencoderConfig.MaxSteps);
        string? dumpGrads = args.Path("--dump-grads");
        string? outArg = args.Path("--out");
        bool json = args.Flag("--json");
        bool quiet = args.Flag("--quiet");
        args.Finish();
        if (checkpoint is not null && steps < checkpoint.Step)
            throw new UsageException("--steps", steps.ToString(CultureInfo.InvariantCulture), $"an integer >= {checkpoint.Step}, the checkpoint's step");
        long runSteps = steps - (checkpoint?.Step ?? 0);
        if (warmupSteps > 0 && warmupSteps >= runSteps)
            throw new UsageException("--warmup-steps", warmupSteps.ToString(CultureInfo.InvariantCulture), $"an integer in [0, {runSteps - 1}], fewer than the {runSteps} steps this run trains");
        string outDir = outArg ?? Path.Combine("runs", "train-" + DateTime.Now.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture));
        if (dumpGrads is not null) OutputPaths.File("--dump-grads", dumpGrads);
        else OutputPaths.Folder("--out", outDir);

        backendOptions = backendOptions with { HostParts = [.. Trainer.MemoryParts(config, evalSamples)], EvaluationSamples = evalSamples };
        // A GPU backend's estimate is made here; a host backend's by the factory, after auto has looked for devices.
        var memory = BackendFactory.EstimateMemory(backendKind, config, backendOptions);
        using var backend = BackendFactory.Create(backendKind, config, backendOptions, notice => Console.Error.WriteLine(notice), e => memory = e);
        if (dumpGrads is not null)
        {
            GradientDump.Write(dumpGrads, backend);
            Console.WriteLine($"wrote step-0 gradients of instance 0 to {dumpGrads}");
            return ProgramErrors.Done;
        }

        string modelPath = Path.Combine(outDir, "model.safetensors");
        var trainer = new Trainer(backend, new TrainerOptions
        {
            EvalSamples = evalSamples,
            LogEvery = logEvery,
            EvalEvery = evalEvery,
            CheckpointPath = modelPath,
            CheckpointEvery = checkpointEvery,
            WarmupSteps = warmupSteps,
        });
        if (checkpoint is not null)
        {
            try { trainer.Restore(checkpoint); }
            catch (CheckpointException e) { throw UsageException.File("--resume", e); }
            checkpoint.Dispose();
        }

        Console.Error.WriteLine($"training n {config.N}, m {config.M}, p {Fmt(config.Instances[0].P)}, {(config.Tied ? "tied" : "untied")}, " +
            $"{(config.Bias ? "bias" : "no bias")}, batch {config.Batch}, {config.InstanceCount} instance(s), " +
            $"{OptimizerSettings.Name(config.Optimizer.Kind)} lr {Fmt(config.Instances[0].LearningRate)}, steps {trainer.Step} -> {steps} on {backend.Description}");

        using var metrics = new MetricsFile(Path.Combine(outDir, "metrics.csv"), resumedAt: checkpoint?.Step);
        var line = quiet ? null : new ProgressLine();
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        long firstStep = trainer.Step;
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            metrics.Append(p);
            double fraction = steps > firstStep ? (double)(p.Step - firstStep) / (steps - firstStep) : 1;
            double eta = p.StepsPerSecond > 0 ? (steps - p.Step) / p.StepsPerSecond : double.NaN;
            line?.Update(fraction, $"step {p.Step}/{steps}  loss {p.MeanLoss:G5}" +
                (p.MeanEvalLoss is double e ? $"  eval {e:G5}" : "") + $"  {p.StepsPerSecond:F0} steps/s  ETA {ProgressLine.Duration(eta)}", force: p.Step == steps);
        });
        TrainingResult result;
        bool cancelled = false;
        try { result = trainer.Run(steps, progress, cancel.Token); }
        catch (TrainingCanceledException e)
        {
            // The trainer stopped between steps: it holds exactly e.Result.Steps steps, kept before anything else can fail.
            result = e.Result;
            cancelled = true;
            trainer.Save(modelPath);
        }
        finally { line?.Done(); }

        // The trainer wrote the finished run's checkpoint (the cancelled run's is written above).
        var summary = TrainingSummary.Of(backend, result, completed: !cancelled && result.Steps == steps, trainer.WeightsSha256()) with
        {
            WarmupSteps = warmupSteps,
            MemoryEstimateBytes = memory.Host,
            PeakRssBytes = ProcessMemory.Peak(),
            Out = outDir,
        };
        summary.Save(Path.Combine(outDir, "summary.json"));
        PrintSummary(summary, outDir, evalSamples, memory);
        if (json) Console.WriteLine(summary.ToJson());
        if (cancelled)
        {
            Console.Error.WriteLine($"cancelled at step {result.Steps}; continue with --resume {modelPath}");
            return ProgramErrors.Failed;
        }
        return ProgramErrors.Done;
    }

    private static AutoencoderConfig ConfigFromArguments(Arguments args)
    {
        var shape = args.Choice("--case", StandardCases.S, StandardCases.Get, StandardCases.Names);
        int n = args.Int("--n", shape.N, 1);
        int m = args.Int("--m", shape.M, 1);
        double p = args.Double("--p", shape.P, v => v >= 0 && v <= 1, "a number in [0, 1]");
        bool tied = args.Flag("--tied") || shape.Tied;
        bool bias = !args.Flag("--no-bias");
        var importance = args.Choice("--importance", Importance.Uniform, t => Importance.Parse(t), Importance.Accepted);
        var init = args.Choice("--init", InitKind.Uniform, ConfigJson.ParseInit, "uniform or xavier");
        int instances = args.Int("--instances", 1, 1, 1 << 20);
        int batch = args.Int("--batch", shape.Batch, 1);
        double lr = args.Double("--lr", Defaults.LearningRate(n), v => v > 0 && double.IsFinite(v), "a finite number > 0");
        ulong seed = args.ULong("--seed", 0);
        var optimizer = Optimizer(args, new OptimizerSettings());
        return AutoencoderConfig.Create(n, m, p, lr, tied, bias, batch, instances, seed, importance, optimizer, init);
    }

    private static OptimizerSettings Optimizer(Arguments args, OptimizerSettings defaults) => new()
    {
        Kind = args.Choice("--optimizer", defaults.Kind, OptimizerSettings.Parse, "adam, adamw or sgd"),
        Eps = args.Double("--adam-eps", defaults.Eps, v => v > 0 && double.IsFinite(v), "a finite number > 0"),
        Beta1 = args.Double("--beta1", defaults.Beta1, v => v >= 0 && v < 1, "a number in [0, 1)"),
        Beta2 = args.Double("--beta2", defaults.Beta2, v => v >= 0 && v < 1, "a number in [0, 1)"),
        WeightDecay = args.Double("--weight-decay", defaults.WeightDecay, v => v >= 0 && double.IsFinite(v), "a finite number >= 0"),
        Momentum = args.Double("--momentum", defaults.Momentum, v => v >= 0 && v < 1, "a number in [0, 1)"),
    };

    /// <summary>With --resume the stored config rules; an option that says otherwise is an error.</summary>
    private static AutoencoderConfig CheckAgainst(Arguments args, AutoencoderConfig stored)
    {
        if (args.Has("--case"))
            throw new UsageException("--case", args.String("--case"), "no --case with --resume (the checkpoint holds the shape; leave the option out)");
        var first = stored.Instances[0];
        void Same(string option, string given, string storedValue)
        {
            if (given != storedValue)
                throw new UsageException(option, given, $"{storedValue}, the value stored in the checkpoint (or leave the option out)");
        }
        void Check(string option, Func<string> given, string storedValue)
        {
            if (args.Has(option)) Same(option, given(), storedValue);
        }
        Check("--n", () => args.Int("--n", 0, 1).ToString(CultureInfo.InvariantCulture), stored.N.ToString(CultureInfo.InvariantCulture));
        Check("--m", () => args.Int("--m", 0, 1).ToString(CultureInfo.InvariantCulture), stored.M.ToString(CultureInfo.InvariantCulture));
        Check("--p", () => Fmt(args.Double("--p", 0, v => v >= 0 && v <= 1, "a number in [0, 1]")), Fmt(first.P));
        Check("--tied", () => args.Flag("--tied") ? "tied" : "", stored.Tied ? "tied" : "untied");
        Check("--no-bias", () => args.Flag("--no-bias") ? "no bias" : "", stored.Bias ? "bias" : "no bias");
        Check("--importance", () => args.Choice("--importance", Importance.Uniform, t => Importance.Parse(t), Importance.Accepted).ToString(), first.Importance.ToString());
        Check("--init", () => ConfigJson.InitName(args.Choice("--init", InitKind.Uniform, ConfigJson.ParseInit, "uniform or xavier")), ConfigJson.InitName(stored.Init));
        Check("--instances", () => args.Int("--instances", 1, 1).ToString(CultureInfo.InvariantCulture), stored.InstanceCount.ToString(CultureInfo.InvariantCulture));
        Check("--batch", () => args.Int("--batch", 1, 1).ToString(CultureInfo.InvariantCulture), stored.Batch.ToString(CultureInfo.InvariantCulture));
        Check("--lr", () => Fmt(args.Double("--lr", 1, v => v > 0 && double.IsFinite(v), "a finite number > 0")), Fmt(first.LearningRate));
        Check("--seed", () => args.ULong("--seed", 0).ToString(CultureInfo.InvariantCulture), first.Seed.ToString(CultureInfo.InvariantCulture));
        var o = Optimizer(args, stored.Optimizer);
        Same("--optimizer", OptimizerSettings.Name(o.Kind), OptimizerSettings.Name(stored.Optimizer.Kind));
        Same("--adam-eps", Fmt(o.Eps), Fmt(stored.Optimizer.Eps));
        Same("--beta1", Fmt(o.Beta1), Fmt(stored.Optimizer.Beta1));
        Same("--beta2", Fmt(o.Beta2), Fmt(stored.Optimizer.Beta2));
        Same("--weight-decay", Fmt(o.WeightDecay), Fmt(stored.Optimizer.WeightDecay));
        Same("--momentum", Fmt(o.Momentum), Fmt(stored.Optimizer.Momentum));
        return stored;
    }

    private static string Fmt(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static void PrintSummary(TrainingSummary summary, string outDir, int evalSamples, MemoryEstimate memory)
    {
        var o = Console.Out;
        var (config, result) = (summary.Config, summary.Result);
        string Loss(float[]? values) => values is null || values.Length == 0 ? "-" : values.Average(v => (double)v).ToString("F6", CultureInfo.InvariantCulture);
        o.WriteLine();
        o.WriteLine($"  steps          {result.Steps} in {result.Elapsed.TotalSeconds:F1} s, {result.StepsPerSecond:F1} steps/s{(summary.WarmupSteps > 0 ? $" past {summary.WarmupSteps} warm-up steps" : "")} on {summary.Device}");
        o.WriteLine($"  train loss     {Loss(result.FinalLoss)}   (last batch{(config.InstanceCount > 1 ? ", mean over instances" : "")})");
        o.WriteLine($"  eval loss      {Loss(result.EvalLoss)}   ({(evalSamples > 0 ? $"{evalSamples} evaluation samples" : "evaluation off")})");
        o.WriteLine($"  zero output    {summary.ZeroLoss:F6}   (p/3{(config.Instances[0].Importance.Kind == ImportanceKind.Uniform ? "" : " x mean importance")})");
        o.WriteLine(summary.LinearLoss is double linear
            ? $"  best linear    {linear:F6}   ((n-m-1)p/(3n))"
            : "  best linear    -          (formula for uniform importance only)");
        o.WriteLine($"  weights_sha256 {summary.WeightsSha256}");
        o.WriteLine($"  memory         peak {MemoryEstimate.Format(summary.PeakRssBytes)} resident (estimated {MemoryEstimate.Format(memory.Host)}{(memory.Device > 0 ? $", and {MemoryEstimate.Format(memory.Device)} on the device" : "")})");
        o.WriteLine($"  outputs        {Path.Combine(outDir, "model.safetensors")}, metrics.csv, summary.json");
    }
}
