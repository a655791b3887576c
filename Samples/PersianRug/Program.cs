using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Pictures;
using ToyModels.Samples;
using ToyModels.Training;

// Samples/PersianRug: the trained toy model next to the forward-engineered Persian rug (Cowsik, Dolev,
// Infanger 2024) and its large-n theory, in one table and one picture. Run with --help for the options.
return ProgramErrors.Run(() => PersianRugProgram.Run(args));

internal static class PersianRugProgram
{
    private static readonly string Help = $$"""
        Samples/PersianRug: train the toy model, build and fit the Persian rug, evaluate the theory.

          --n N              features, a power of two (default {{Defaults.N}})
          --m M              hidden dimensions (default {{Defaults.M}})
          --p P              probability that a feature is active (default {{Defaults.P}})
          --steps N          training steps of the ordinary model (default {{Defaults.ShortSteps}})
          --batch B          samples per step, for training and for the rug fit (default {{Defaults.Batch}})
          --lr LR            learning rate of the ordinary model (default {{Defaults.LearningRateFormula}}); Adam, eps {{Defaults.AdamEps}}
          --seed S           data stream and initialisation seed (default 0)
          --model FILE       use this checkpoint (e.g. from Samples/Train) instead of training; n, m, p, seed come from it
          --rug-seed S       seed of the rug's Hadamard row shuffle (default 0)
          --fit-steps N      Adam steps fitting the rug's a and b (default 400)
          --fit-lr LR        peak learning rate of that fit (default 0.02)
          --eval-samples E   evaluation samples for every loss in the table (default {{Defaults.EvalSamples}})
          --backend NAME     {BACKENDS} (default auto)
          --threads T        host threads, 0 for all cores (default 0)
          --out DIR          persian-rug.svg, rug.png, trained.png, summary.json, checkpoints (default runs/persian-rug-TIME)
          --json             print one JSON object as the last line of standard output
          --quiet            no progress line

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
        string? modelPath = args.Path("--model");
        Checkpoint? model = null;
        try { if (modelPath is not null) model = Checkpoint.Load(modelPath); }
        catch (CheckpointException e) { throw UsageException.File("--model", e); }
        if (model is not null && (model.Config.Tied || !model.Config.Bias))
            throw new UsageException("--model", modelPath, "a checkpoint of an untied model with bias (the rug's shape)");

        if (model is not null)
            foreach (string option in new[] { "--n", "--m", "--p", "--seed", "--steps", "--lr" })
                if (args.Has(option)) throw new UsageException(option, args.String(option), "leave it out with --model (the checkpoint's value is used)");
        int n = model?.Config.N ?? args.Int("--n", Defaults.N, 1);
        int m = model?.Config.M ?? args.Int("--m", Defaults.M, 1);
        double p = model?.Config.Instances[0].P ?? args.Double("--p", Defaults.P, v => v >= 0 && v <= 1, "a number in [0, 1]");
        ulong seed = model?.Config.Instances[0].Seed ?? args.ULong("--seed", 0);
        long steps = args.Long("--steps", Defaults.ShortSteps, 0, AutoencoderConfig.MaxSteps);
        int batch = args.Int("--batch", model?.Config.Batch ?? Defaults.Batch, 1);
        double lr = args.Double("--lr", Defaults.LearningRate(n), v => v > 0 && double.IsFinite(v), "a finite number > 0");
        ulong rugSeed = args.ULong("--rug-seed", 0);
        int fitSteps = args.Int("--fit-steps", 400, 0);
        double fitLr = args.Double("--fit-lr", 0.02, v => v > 0 && double.IsFinite(v), "a finite number > 0");
        int evalSamples = args.Int("--eval-samples", Defaults.EvalSamples, 1);
        var backendKind = args.Choice("--backend", BackendKind.Auto, BackendFactory.Parse, BackendFactory.Names);
        var backendOptions = new BackendOptions(args.Int("--threads", 0, 0, 4096));
        string outDir = args.Path("--out") ?? Path.Combine("runs", "persian-rug-" + DateTime.Now.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture));
        bool json = args.Flag("--json");
        bool quiet = args.Flag("--quiet");
        args.Finish();
        if (!BitOperations.IsPow2(n)) throw new UsageException("--n", n.ToString(CultureInfo.InvariantCulture), "a power of two (the rug uses rows of the Sylvester Hadamard matrix)");
        if (m > n) throw new UsageException("--m", m.ToString(CultureInfo.InvariantCulture), $"an integer in [1, n = {n}]");

        var optimizer = model?.Config.Optimizer ?? new OptimizerSettings();
        var config = model?.Config.Single(0) ?? AutoencoderConfig.Create(n, m, p, lr, tied: false, bias: true, batch, 1, seed, optimizer: optimizer);
        OutputPaths.Folder("--out", outDir);
        var line = quiet ? null : new ProgressLine();

        // 1. The ordinary model: trained here, or taken from --model.
        using var backend = BackendFactory.Create(backendKind, config, backendOptions, notice => Console.Error.WriteLine(notice));
        var trainer = new Trainer(backend, new TrainerOptions { EvalSamples = evalSamples, OnDivergence = DivergencePolicy.Stop });
        long trainedSteps;
        double stepsPerSecond = 0;
        if (model is not null)
        {
            backend.SetParameters(config.Layout.Instance(model.Parameters, 0));
            trainedSteps = model.Step;
            Console.Error.WriteLine($"using {modelPath}: n {n}, m {m}, p {Fmt(p)}, {trainedSteps} steps trained");
        }
        else
        {
            Console.Error.WriteLine($"training n {n}, m {m}, p {Fmt(p)}, untied with bias, batch {batch}, adam lr {Fmt(lr)}, {steps} steps on {backend.Description}");
            var result = trainer.Run(steps, new SyncProgress<TrainingProgress>(q => line?.Update((double)q.Step / steps,
                $"training  step {q.Step}/{steps}  loss {q.MeanLoss:G5}  {q.StepsPerSecond:F1} steps/s  ETA {ProgressLine.Duration((steps - q.Step) / q.StepsPerSecond)}", q.Step == steps)));
            line?.Done();
            trainedSteps = result.Steps;
            stepsPerSecond = result.StepsPerSecond;
        }
        var trainedParameters = new float[config.Layout.Total];
        backend.GetParameters(trainedParameters);
        var trainedMetrics = SuperpositionMetrics.OfInstance(config, trainedParameters);
        if (model is null) trainer.Snapshot(SuperpositionMetrics.Metadata(config, trainedParameters)).Save(Path.Combine(outDir, "trained.safetensors"));
        float trainedLoss = trainer.Evaluate()[0];

        // 2. The rug: rows by the seeded shuffle, (a, b) fitted with the engine on the same data stream.
        var rug = PersianRug.Create(n, m, rugSeed);
        double[] unit = rug.EffectiveMatrix();
        CheckRug(unit, n);
        var rugConfig = AutoencoderConfig.Create(n, m, p, lr, tied: false, bias: true, batch, 1, seed, optimizer: optimizer);
        using var rugBackend = BackendFactory.Create(backendKind, rugConfig, backendOptions);
        var fit = PersianRugFit.Fit(rugBackend, rug, new RugFitOptions { Steps = fitSteps, LearningRate = fitLr },
            new SyncProgress<RugFitProgress>(q => line?.Update((double)q.Step / q.Steps,
                $"fitting the rug  step {q.Step}/{q.Steps}  a {q.A:F4}  b {q.B:F4}  batch loss {q.BatchLoss:G5}", q.Step == q.Steps)));
        line?.Done();
        var rugParameters = new float[rugConfig.Layout.Total];
        rug.WriteParameters(rugConfig, rugParameters, fit.A, fit.B);
        rugBackend.SetParameters(rugParameters);
        float rugLoss = new Trainer(rugBackend, new TrainerOptions { EvalSamples = evalSamples }).Evaluate()[0];
        if (!float.IsFinite(rugLoss))
            throw DivergenceException.OfFit(fitSteps, $"the fitted Persian rug's evaluation loss is {rugLoss} (a {fit.A:G4}, b {fit.B:G4}); a smaller RugFitOptions.LearningRate may help", "RugFitOptions.LearningRate");
        var rugMetadata = SuperpositionMetrics.Metadata(rugConfig, rugParameters);
        rugMetadata["persian_rug"] = RugJson(rug, fit);
        new Checkpoint(rugConfig, fitSteps, rugParameters, new float[rugConfig.Optimizer.StateSlots * rugConfig.Layout.Total], rugMetadata)
            .Save(Path.Combine(outDir, "rug.safetensors"));

        // 3. Theory and baselines.
        var theory = PersianRugTheory.Minimize(n, m, p);
        double linear = Baselines.Linear(n, m, p, Importance.Uniform)!.Value;
        double zero = Baselines.Zero(n, p, Importance.Uniform);

        // 4. The picture: W_out W_in of the rug (times a) and of the trained model.
        var rugMatrix = unit.Select(v => v * fit.A).ToArray();
        var trainedMatrix = SuperpositionMetrics.EffectiveMatrix(config.Layout.Encoder.Of((ReadOnlySpan<float>)trainedParameters),
            config.Layout.Decoder.Of((ReadOnlySpan<float>)trainedParameters), n, m);
        WritePictures(outDir, n, m, p, rugMatrix, trainedMatrix, fit, trainedSteps);

        var o = Console.Out;
        string F(double v) => v.ToString("F6", CultureInfo.InvariantCulture);
        o.WriteLine();
        o.WriteLine($"  n {n}, m {m}, p {Fmt(p)}; losses on {evalSamples} evaluation samples of data stream v1 (seed {seed}), backend {backend.Name}");
        o.WriteLine();
        o.WriteLine("  model          loss       how");
        o.WriteLine($"  trained        {F(trainedLoss)}   {trainedSteps} Adam steps{(model is null ? $", {stepsPerSecond:F1} steps/s" : $", from {modelPath}")}; {trainedMetrics.FeaturesRepresented} of {n} features with norm > {trainedMetrics.Threshold}");
        o.WriteLine($"  Persian rug    {F(rugLoss)}   a {fit.A:F4}, b {fit.B:F4}, fitted in {fitSteps} steps; Hadamard rows by shuffle seed {rugSeed}");
        o.WriteLine($"  theory         {F(theory.Loss)}   n -> infinity at n/m = {(double)n / m:G4}: a* {theory.A:F4}, b* {theory.B:F4}");
        o.WriteLine($"  best linear    {F(linear)}   (n-m-1)p/(3n)");
        o.WriteLine($"  zero output    {F(zero)}   p/3");
        o.WriteLine();
        o.WriteLine($"  check          the rug's W_out W_in has unit diagonal and depends on i XOR j only: ok");
        o.WriteLine($"  picture        {Path.Combine(outDir, "persian-rug.svg")} (also rug.png, trained.png)");

        string summary = Summary(n, m, p, seed, rugSeed, trainedSteps, trainedLoss, rugLoss, fit, theory, linear, zero, backend.Name, outDir);
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.json"), summary + "\n");
        if (json) o.WriteLine(summary);
        return ProgramErrors.Done;
    }

    /// <summary>The sample checks its own construction against the two facts the picture rests on.</summary>
    private static void CheckRug(double[] e, int n)
    {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (e[i * n + j] != e[i ^ j] || (i == j && e[i * n + j] != 1))
                    throw new InvalidOperationException($"the rug's W_out W_in fails its structure check at ({i}, {j})");
    }

    private static void WritePictures(string outDir, int n, int m, double p, double[] rugMatrix, double[] trainedMatrix, RugFitProgress fit, long steps)
    {
        double side = n >= 256 ? n : 384;
        double rugLimit = MatrixPicture.OffDiagonalLimit(rugMatrix, n), trainedLimit = MatrixPicture.OffDiagonalLimit(trainedMatrix, n);
        var left = MatrixPicture.Render(rugMatrix, n, $"Persian rug: a W_out W_in (a = {fit.A:F3})", rugLimit, side, "entry (diagonal saturates)");
        var right = MatrixPicture.Render(trainedMatrix, n, $"Trained: W_out W_in ({steps} steps)", trainedLimit, side, "entry (diagonal saturates)");
        var picture = new Svg(left.Width + right.Width + 10, left.Height + 28);
        picture.Place(0, 0, left);
        picture.Place(left.Width + 10, 0, right);
        picture.Text(picture.Width / 2, left.Height + 18,
            $"n {n}, m {m}, p {Fmt(p)}. Colour scales end at the largest off-diagonal magnitude of each matrix; the diagonal saturates.", 12, "middle", "#555555");
        picture.Save(Path.Combine(outDir, "persian-rug.svg"));
        File.WriteAllBytes(Path.Combine(outDir, "rug.png"), MatrixPicture.EncodePng(rugMatrix, n, rugLimit));
        File.WriteAllBytes(Path.Combine(outDir, "trained.png"), MatrixPicture.EncodePng(trainedMatrix, n, trainedLimit));
    }

    private static string RugJson(PersianRug rug, RugFitProgress fit) =>
        JsonSerializer.Serialize(new { rows = rug.Rows, shuffle_seed = rug.Seed, a = fit.A, b = fit.B });

    private static string Summary(int n, int m, double p, ulong seed, ulong rugSeed, long steps, float trained, float rug, RugFitProgress fit,
        RugOptimum theory, double linear, double zero, string backend, string outDir)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            // JSON has no Infinity or NaN: such a value is written as null.
            void Number(string name, double value)
            {
                if (double.IsFinite(value)) w.WriteNumber(name, value);
                else w.WriteNull(name);
            }
            w.WriteStartObject();
            w.WriteNumber("n", n); w.WriteNumber("m", m); Number("p", p); w.WriteNumber("seed", seed); w.WriteNumber("rug_seed", rugSeed);
            w.WriteNumber("steps", steps);
            Number("trained_loss", trained); Number("rug_loss", rug);
            Number("rug_a", fit.A); Number("rug_b", fit.B);
            Number("theory_loss", theory.Loss); Number("theory_a", theory.A); Number("theory_b", theory.B);
            Number("linear_loss", linear); Number("zero_loss", zero);
            w.WriteString("backend", backend); w.WriteString("out", outDir);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Fmt(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
