using System.Globalization;
using ToyModels.Analysis;
using ToyModels.Backends;
using ToyModels.Model;
using ToyModels.Pictures;
using ToyModels.Samples;
using ToyModels.Training;

// Samples/Superposition: the introductory figure of Toy Models of Superposition (Elhage et al. 2022):
// five features of importance 0.9^i squeezed into two dimensions, at sparsities from dense to very sparse.
// All sparsities train together, as the instances of one packed run. Run with --help for the options.
return ProgramErrors.Run(() => SuperpositionProgram.Run(args),
    new Dictionary<string, string> { ["AutoencoderConfig.Instances"] = "--sparsities" });

internal static class SuperpositionProgram
{
    private static readonly string Help = $$"""
        Samples/Superposition: the 2-D feature directions of n 5, m 2 toy models across sparsity (Elhage et al. 2022, figure 1).

          --sparsities K     models, with p = 20^(-k/(K-1)), k = 0 .. K-1: from dense (p 1) to p 0.05 (default 8)
          --steps N          training steps (default 10000)
          --batch B          samples per step (default {{Defaults.Batch}})
          --lr LR            Adam learning rate (default 1e-3)
          --seed S           instance k is seeded S + k (default 0)
          --backend NAME     {BACKENDS} (default auto)
          --out FILE         the picture (default superposition.svg)
          --quiet            no progress line

        The model is tied with bias (x' = ReLU(W^T W x + b)), importance 0.9^i, Xavier-normal initialisation, as in
        Anthropic's notebook. Exit codes: 0 done, 2 bad input, 3 diverged, 1 anything else.
        """;

    private const int N = 5, M = 2;

    public static int Run(string[] argv)
    {
        if (argv.Contains("--help") || argv.Contains("-h"))
        {
            Console.WriteLine(Help.Replace("{BACKENDS}", BackendFactory.Names.Replace(", ", " | ")));
            return ProgramErrors.Done;
        }
        var args = new Arguments(argv);
        int count = args.Int("--sparsities", 8, 2, 64);
        long steps = args.Long("--steps", 10_000, 1, AutoencoderConfig.MaxSteps);
        int batch = args.Int("--batch", Defaults.Batch, 1);
        double lr = args.Double("--lr", 1e-3, v => v > 0 && double.IsFinite(v), "a finite number > 0");
        ulong seed = args.ULong("--seed", 0);
        var backendKind = args.Choice("--backend", BackendKind.Auto, BackendFactory.Parse, BackendFactory.Names);
        string output = args.Path("--out", "superposition.svg");
        bool quiet = args.Flag("--quiet");
        args.Finish();
        OutputPaths.File("--out", output);

        var importance = Importance.Decay(0.9);
        var instances = Enumerable.Range(0, count)
            .Select(k => new InstanceSettings(seed + (ulong)k, Math.Pow(20, -(double)k / (count - 1)), lr, importance)).ToArray();
        var config = new AutoencoderConfig(N, M, tied: true, bias: true, batch, instances, new OptimizerSettings(), InitKind.XavierNormal);
        using var backend = BackendFactory.Create(backendKind, config, notice: notice => Console.Error.WriteLine(notice));
        Console.Error.WriteLine($"training {count} models (n {N}, m {M}, tied, importance 0.9^i) side by side for {steps} steps on {backend.Description}");
        var trainer = new Trainer(backend, new TrainerOptions());
        var line = quiet ? null : new ProgressLine();
        var result = trainer.Run(steps, new SyncProgress<TrainingProgress>(p => line?.Update((double)p.Step / steps,
            $"step {p.Step}/{steps}  mean loss {p.MeanLoss:G4}  {p.StepsPerSecond:F0} steps/s", p.Step == steps)));
        line?.Done();

        var parameters = new float[config.Layout.Total];
        backend.GetParameters(parameters);
        var metrics = Enumerable.Range(0, count).Select(s => SuperpositionMetrics.Of(config, parameters, s)).ToArray();

        var o = Console.Out;
        o.WriteLine();
        o.WriteLine("  p         sparsity  eval loss   features with norm > 0.5   D*");
        for (int s = 0; s < count; s++)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {instances[s].P,-9:G3} {1 - instances[s].P,7:P0}   {result.EvalLoss![s],-10:G4}  {metrics[s].FeaturesRepresented,-26} {metrics[s].DStar:G3}"));
        // The figure's two facts: dense features get one dimension each (m of them), sparse ones share (more than m).
        int dense = metrics[0].FeaturesRepresented, sparse = metrics[^1].FeaturesRepresented;
        o.WriteLine();
        o.WriteLine($"  check          dense (p 1): {dense} features represented, {M} expected: {(dense == M ? "ok" : "unexpected")}");
        o.WriteLine($"  check          sparsest (p {instances[^1].P:G3}): {sparse} features represented, more than {M} expected (superposition): {(sparse > M ? "ok" : "unexpected")}");

        Draw(config, parameters, instances, metrics, result.EvalLoss!).Save(output);
        o.WriteLine($"  picture        {output}");
        return ProgramErrors.Done;
    }

    /// <summary>One column per model: the five feature directions W_i in the hidden plane, then W^T W and b.</summary>
    private static Svg Draw(AutoencoderConfig config, float[] parameters, InstanceSettings[] instances, SuperpositionMetrics[] metrics, float[] loss)
    {
        int count = instances.Length;
        const double cell = 150, top = 58, gap = 14;
        double width = 24 + count * (cell + gap) + 150, height = top + cell + 40 + cell * 0.8 + 44;
        var svg = new Svg(width, height);
        svg.Text(24, 24, "Toy Models of Superposition: 5 features in 2 dimensions, importance 0.9^i", 16, bold: true);
        svg.Text(24, 44, "Top: the columns W_i of W in the hidden plane (unit circle grey). Bottom: W^T W and the bias b. Sparsity grows to the right.", 12, fill: "#555555");
        var importance = instances[0].Importance.Compute(N);
        double limit = 0;
        var grams = new double[count][];
        for (int s = 0; s < count; s++)
        {
            var block = config.Layout.Instance((ReadOnlySpan<float>)parameters, s);
            grams[s] = SuperpositionMetrics.Gram(config.Layout.Encoder.Of(block), N, M);
            limit = Math.Max(limit, grams[s].Max(Math.Abs));
            limit = Math.Max(limit, metrics[s].Bias.Max(Math.Abs));
        }
        for (int s = 0; s < count; s++)
        {
            double x0 = 24 + s * (cell + gap), cx = x0 + cell / 2, cy = top + cell / 2, radius = cell * 0.36;
            var block = config.Layout.Instance((ReadOnlySpan<float>)parameters, s);
            var w = config.Layout.Encoder.Of(block);
            svg.Rect(x0, top, cell, cell, "#fafafa", "#dddddd");
            svg.Line(x0 + 6, cy, x0 + cell - 6, cy, "#e4e4e4");
            svg.Line(cx, top + 6, cx, top + cell - 6, "#e4e4e4");
            svg.Circle(cx, cy, radius, "none", "#bbbbbb");
            double scale = radius / Math.Max(1, metrics[s].Norm.Max()); // tied: the norms are the column lengths
            for (int i = N - 1; i >= 0; i--) // most important drawn last, on top
                svg.Arrow(cx, cy, cx + scale * w[i], cy - scale * w[N + i], ColorMap.Viridis.At(1 - i / (N - 1.0)).Hex, 2.4);
            svg.Text(cx, top + cell + 16, $"p = {instances[s].P:G2}", 12, "middle", bold: true);
            svg.Text(cx, top + cell + 31, $"sparsity {1 - instances[s].P:P0} · loss {loss[s]:G2}", 10, "middle", "#555555");

            double size = cell * 0.8 / (N + 1.5), gx = x0 + (cell - size * (N + 1.5)) / 2, gy = top + cell + 44;
            for (int i = 0; i < N; i++)
            {
                for (int j = 0; j < N; j++)
                    svg.Rect(gx + j * size, gy + i * size, size, size, ColorMap.Diverging.At(0.5 + 0.5 * grams[s][i * N + j] / limit).Hex,
                        title: $"(W^T W)[{i}][{j}] = {grams[s][i * N + j]:G3}");
                svg.Rect(gx + (N + 0.5) * size, gy + i * size, size, size, ColorMap.Diverging.At(0.5 + 0.5 * metrics[s].Bias[i] / limit).Hex,
                    title: $"b[{i}] = {metrics[s].Bias[i]:G3}");
            }
            svg.Rect(gx, gy, N * size, N * size, "none", "#888888");
            svg.Text(gx + N * size / 2, gy + N * size + 14, "W^T W", 10, "middle", "#555555");
            svg.Text(gx + (N + 1) * size, gy + N * size + 14, "b", 10, "middle", "#555555");
            svg.Text(cx, gy + N * size + 30, $"{metrics[s].FeaturesRepresented} of {N} represented", 10, "middle", "#555555");
        }
        double lx = 24 + count * (cell + gap) + 6;
        svg.Text(lx, top + 8, "feature importance", 11, bold: true);
        for (int i = 0; i < N; i++)
        {
            svg.Line(lx, top + 26 + 18 * i, lx + 22, top + 26 + 18 * i, ColorMap.Viridis.At(1 - i / (N - 1.0)).Hex, 3);
            svg.Text(lx + 28, top + 30 + 18 * i, $"feature {i}: {importance[i]:G3}", 11);
        }
        ColorBar.Draw(svg, lx, top + cell + 44, 14, cell * 0.8 * N / (N + 1.5), ColorMap.Diverging, -limit, limit, "W^T W and b");
        return svg;
    }
}
