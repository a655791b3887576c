using System.Globalization;
using System.Net;
using System.Text;
using ToyModels.Analysis;
using ToyModels.IO;
using ToyModels.Model;
using ToyModels.Pictures;

namespace ToyModels.Sweeps;

/// <summary>
/// report.html: one self-contained page (inline SVG, heatmap pixels as embedded PNG) per sweep. For each group
/// of runs that differ only in m/n, p and seed: loss against p and against m/n with the Persian-rug theory and
/// the baselines overlaid, heatmaps of the loss (relative to the zero output) and of D* over (m/n, p); then
/// D_i histograms and W_out W_in (or W^T W) heatmaps of the featured runs. Seeds are averaged.
/// </summary>
public static class SweepReport
{
    private const int MaxLines = 6;
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>Runs that differ only in m (ratio), p and seed form a group: one set of charts each.</summary>
    internal static string GroupKey(SweepRun run) =>
        $"n {run.N} · {(run.Config.Tied ? "tied" : "untied")} · {(run.Config.Bias ? "bias" : "no bias")} · importance {run.Instance.Importance}" +
        $" · lr {run.Instance.LearningRate.ToString("G3", C)} · {run.Steps} steps · batch {run.Config.Batch}";

    /// <summary>
    /// The runs whose weights the report draws: in each group, the first seed's corners of the (m/n, p) grid
    /// (smallest and largest m/n, each at its largest and smallest p). The sweep keeps their checkpoints.
    /// </summary>
    public static IReadOnlyList<SweepRun> FeaturedRuns(SweepGrid grid)
    {
        var featured = new List<SweepRun>();
        foreach (var group in grid.Runs.GroupBy(GroupKey))
        {
            ulong seed = group.First().Instance.Seed;
            var runs = group.Where(r => r.Instance.Seed == seed).ToList();
            foreach (int m in new[] { runs.Min(r => r.M), runs.Max(r => r.M) })
            {
                var atM = runs.Where(r => r.M == m).ToList();
                foreach (var run in new[] { atM.MaxBy(r => r.Instance.P)!, atM.MinBy(r => r.Instance.P)! })
                    if (!featured.Contains(run)) featured.Add(run);
            }
        }
        return featured;
    }

    /// <summary>
    /// Writes the folder's report.html from its results, metrics files and featured checkpoints. A missing or corrupt
    /// metrics file is recomputed from the run's checkpoint; what cannot be (nor a corrupt checkpoint) is left out of
    /// the report, with a warning. Diverged runs have neither.
    /// </summary>
    public static void Write(SweepFolder folder, SweepGrid grid, string note, Action<string>? warn = null)
    {
        var rows = folder.GridRows(grid);
        var byId = rows.ToDictionary(r => r.RunId);
        bool Diverged(SweepRun run) => byId.TryGetValue(run.Id, out var row) && row.DivergedStep >= 0;
        SuperpositionMetrics? Metrics(SweepRun run)
        {
            if (Diverged(run)) return null;
            if (folder.ReadMetrics(run, out string? problem) is { } metrics) return metrics;
            string? why = "the run has no row";
            if (byId.TryGetValue(run.Id, out var row) && folder.RecomputeMetrics(run, row.WeightsSha256, out why) is { } recomputed)
            {
                warn?.Invoke($"warning: {folder.MetricsFile(run.Id)} was {problem}; recomputed it from {folder.CheckpointFile(run.Id)}");
                return recomputed;
            }
            warn?.Invoke($"warning: {folder.MetricsFile(run.Id)} was {problem}, and {why}; the report leaves out its D_i histogram");
            return null;
        }
        double[]? Matrix(SweepRun run)
        {
            string file = folder.CheckpointFile(run.Id);
            if (Diverged(run) || !File.Exists(file)) return null;
            Checkpoint checkpoint;
            try { checkpoint = Checkpoint.Load(file); }
            catch (CheckpointException e)
            {
                warn?.Invoke($"warning: {e.Message}; the report leaves out its matrix");
                return null;
            }
            if (ConfigJson.Write(checkpoint.Config) != ConfigJson.Write(run.Config))
            {
                warn?.Invoke($"warning: {file} holds another config than run {run.Id}; the report leaves out its matrix");
                return null;
            }
            var layout = checkpoint.Config.Layout;
            ReadOnlySpan<float> block = checkpoint.Parameters;
            return checkpoint.Config.Tied
                ? SuperpositionMetrics.Gram(layout.Encoder.Of(block), run.N, run.M)
                : SuperpositionMetrics.EffectiveMatrix(layout.Encoder.Of(block), layout.Decoder.Of(block), run.N, run.M);
        }
        AtomicFile.WriteAllText(folder.ReportFile, Html(grid, rows, Metrics, Matrix, note));
    }

    internal static string Html(SweepGrid grid, IReadOnlyList<SweepResult> rows, Func<SweepRun, SuperpositionMetrics?> metrics,
        Func<SweepRun, double[]?> matrix, string note)
    {
        var byId = rows.ToDictionary(r => r.RunId);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(grid.Name)).Append(" — sweep report</title>\n")
            .Append("<style>body{font-family:").Append(Svg.Font).Append(";margin:24px 32px;color:#222;max-width:1500px}")
            .Append("h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc;padding-bottom:4px}")
            .Append("h3{font-size:15px;margin:18px 0 6px}.meta{color:#555;font-size:13px;margin:2px 0}.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}")
            .Append("figure{margin:0 0 8px 0}figcaption{font-size:12px;color:#555;max-width:640px}table{border-collapse:collapse;font-size:12px}")
            .Append("td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}</style></head><body>\n");
        html.Append("<h1>").Append(E(grid.Name)).Append("</h1>\n");
        html.Append($"<p class=\"meta\">{rows.Count} of {grid.Runs.Count} runs finished · grid {E(grid.Source)} (sha256 {grid.Sha256[..12]}…) · {E(note)}</p>\n");
        html.Append("<p class=\"meta\">Loss: mean squared reconstruction error per feature on the evaluation set (data stream v1); " +
            "seeds are averaged. Theory: the Persian rug's large-n Gaussian loss (Cowsik, Dolev, Infanger 2024); " +
            "baselines: zero output p/3, best linear model (n−m−1)p/(3n).</p>\n");
        if (rows.Count == 0) return html.Append("<p>No results yet.</p></body></html>\n").ToString();

        foreach (var group in grid.Runs.GroupBy(GroupKey))
        {
            var done = group.Where(r => byId.ContainsKey(r.Id)).ToList();
            html.Append("<h2>").Append(E(group.Key)).Append("</h2>\n");
            if (done.Count == 0) { html.Append("<p>No results in this group yet.</p>\n"); continue; }
            var cells = done.GroupBy(r => (r.M, r.Instance.P)).ToDictionary(g => g.Key, g => g.Select(r => byId[r.Id]).ToList());
            var sample = done[0];
            bool uniform = sample.Instance.Importance.Kind == ImportanceKind.Uniform;
            html.Append("<div class=\"row\">\n");
            Figure(html, LossAgainstP(sample, cells, uniform), "Each colour is one m/n. Dots: trained models; dashed: rug theory; dotted: best linear model; grey: zero output.");
            Figure(html, LossAgainstRatio(sample, cells, uniform), "Each colour is one p. Dots: trained models; dashed: rug theory; dotted: best linear model; grey: zero output.");
            html.Append("</div>\n<div class=\"row\">\n");
            var relative = new GridHeatmap
            {
                Title = "Loss relative to the zero output", XLabel = "m/n", YLabel = "p", ValueLabel = "loss / (p/3)",
                Range = (0, 1),
            };
            var dStar = new GridHeatmap { Title = "D* = m / ||W||²_F", XLabel = "m/n", YLabel = "p", ValueLabel = "D* (hidden dims per feature)" };
            foreach (var ((m, p), list) in cells)
            {
                double ratio = (double)m / sample.N;
                relative.Cells[(ratio, p)] = list.Average(r => Loss(r) / r.ZeroLoss);
                dStar.Cells[(ratio, p)] = list.Average(r => r.DStar);
            }
            Figure(html, relative.Render(), "1 = no better than outputting zeros; lower is better. Hover a cell for its value.");
            Figure(html, dStar.Render(), "Small D*: many features share the hidden dimensions (superposition); 1/(m/n) would be one dimension per feature.");
            html.Append("</div>\n");
        }

        var featured = FeaturedRuns(grid).Where(r => byId.ContainsKey(r.Id)).ToList();
        if (featured.Count > 0)
        {
            html.Append("<h2>Featured runs</h2>\n<p class=\"meta\">The corners of each group's (m/n, p) grid, first seed. " +
                "Histograms of the feature dimensionality D<sub>i</sub> (Elhage et al. 2022) and the matrix each model applies to its input " +
                "(W<sub>out</sub>W<sub>in</sub>, or W<sup>T</sup>W when tied).</p>\n");
            html.Append("<table><tr><th>run</th><th>n</th><th>m</th><th>p</th><th>eval loss</th><th>theory</th><th>linear</th><th>zero</th><th>D*</th><th>features with norm &gt; 0.5</th></tr>\n");
            foreach (var run in featured)
            {
                var r = byId[run.Id];
                html.Append($"<tr><td>{run.Id}</td><td>{r.N}</td><td>{r.M}</td><td>{G(r.P)}</td><td>{G(Loss(r))}</td><td>{G(r.TheoryLoss)}</td><td>{G(r.LinearLoss)}</td>" +
                    $"<td>{G(r.ZeroLoss)}</td><td>{G(r.DStar)}</td><td>{(r.FeaturesRepresented is int f ? $"{f} of {r.N}" : "–")}</td></tr>\n");
            }
            html.Append("</table>\n<div class=\"row\">\n");
            foreach (var run in featured)
            {
                var m = metrics(run);
                if (m is null) continue;
                Figure(html, new HistogramChart
                {
                    Title = $"D_i: m/n {G(run.Ratio)}, p {G(run.Instance.P)}", XLabel = "feature dimensionality D_i", Values = m.Dimensionality,
                }.Render(300, 210), "");
            }
            html.Append("</div>\n<div class=\"row\">\n");
            foreach (var run in featured)
            {
                var g = matrix(run);
                if (g is null) continue;
                string name = run.Config.Tied ? "WᵀW" : "W_out W_in";
                Figure(html, MatrixPicture.Render(g, run.N, $"{name}: m/n {G(run.Ratio)}, p {G(run.Instance.P)}", MatrixPicture.OffDiagonalLimit(g, run.N), 240, "entry"),
                    "Colour scale ends at the largest off-diagonal magnitude; the diagonal saturates.");
            }
            html.Append("</div>\n");
        }
        return html.Append("</body></html>\n").ToString();
    }

    private static double Loss(SweepResult r) => double.IsFinite(r.EvalLoss) ? r.EvalLoss : r.TrainLoss;

    private static Svg LossAgainstP(SweepRun sample, Dictionary<(int M, double P), List<SweepResult>> cells, bool uniform)
    {
        int n = sample.N;
        var ms = Pick(cells.Keys.Select(k => k.M).Distinct().Order().ToList());
        var ps = cells.Keys.Select(k => k.P).Distinct().Order().ToList();
        var dense = Dense(ps.Where(p => p > 0).DefaultIfEmpty(0.01).Min(), ps.Max(), log: true);
        var chart = new LineChart { Title = "Loss against sparsity p", XLabel = "p (probability a feature is active)", YLabel = "loss", XLog = true, YLog = true };
        var colors = ColorMap.Series(ms.Count);
        for (int k = 0; k < ms.Count; k++)
        {
            int m = ms[k];
            var points = cells.Where(c => c.Key.M == m).OrderBy(c => c.Key.P).Select(c => (c.Key.P, c.Value.Average(Loss))).ToList();
            chart.Series.Add(new Series($"m/n {G((double)m / n)}", colors[k], points));
            if (uniform)
            {
                chart.Series.Add(new Series("", colors[k], dense.Select(p => (p, PersianRugTheory.Minimize(n, m, p).Loss)).ToList(), SeriesStyle.Line, "6,4", false));
                chart.Series.Add(new Series("", colors[k], dense.Select(p => (p, Baselines.Linear(n, m, p, Importance.Uniform)!.Value)).ToList(), SeriesStyle.Line, "2,3", false));
            }
        }
        double meanImportance = sample.Instance.Importance.Compute(n).Average(v => (double)v);
        chart.Series.Add(new Series("", "#888888", dense.Select(p => (p, p / 3 * meanImportance)).ToList(), SeriesStyle.Line, null, false));
        AddStyleKey(chart, uniform);
        return chart.Render(620, 400);
    }

    private static Svg LossAgainstRatio(SweepRun sample, Dictionary<(int M, double P), List<SweepResult>> cells, bool uniform)
    {
        int n = sample.N;
        var ps = Pick(cells.Keys.Select(k => k.P).Distinct().Order().ToList());
        var ms = cells.Keys.Select(k => k.M).Distinct().Order().ToList();
        var dense = Dense((double)ms.Min() / n, (double)ms.Max() / n, log: false);
        var chart = new LineChart { Title = "Loss against width m/n", XLabel = "m/n (hidden dimensions per feature)", YLabel = "loss", YLog = true };
        var colors = ColorMap.Series(ps.Count);
        double meanImportance = sample.Instance.Importance.Compute(n).Average(v => (double)v);
        for (int k = 0; k < ps.Count; k++)
        {
            double p = ps[k];
            var points = cells.Where(c => c.Key.P == p).OrderBy(c => c.Key.M).Select(c => ((double)c.Key.M / n, c.Value.Average(Loss))).ToList();
            chart.Series.Add(new Series($"p {G(p)}", colors[k], points));
            if (uniform)
            {
                chart.Series.Add(new Series("", colors[k], dense.Select(r => (r, TheoryAtRatio(r, p))).ToList(), SeriesStyle.Line, "6,4", false));
                chart.Series.Add(new Series("", colors[k], dense.Select(r => (r, Math.Max(0, 1 - r - 1.0 / n) * p / 3)).ToList(), SeriesStyle.Line, "2,3", false));
            }
            chart.Series.Add(new Series("", "#888888", [(dense[0], p / 3 * meanImportance), (dense[^1], p / 3 * meanImportance)], SeriesStyle.Line, null, false));
        }
        AddStyleKey(chart, uniform);
        return chart.Render(620, 400);
    }

    /// <summary>The theory at a continuous m/n (the variance depends on n/m only).</summary>
    private static double TheoryAtRatio(double ratio, double p) =>
        PersianRugTheory.Minimize(p, PersianRugTheory.InterferenceMean(p), Math.Sqrt(Math.Max(0, (1 / ratio - 1) * (p / 3 - p * p / 4)))).Loss;

    private static void AddStyleKey(LineChart chart, bool uniform)
    {
        chart.StyleKey.Add(new Series("trained (eval loss)", "#444444", [], SeriesStyle.Markers));
        if (uniform)
        {
            chart.StyleKey.Add(new Series("rug theory (n → ∞)", "#444444", [], SeriesStyle.Line, "6,4"));
            chart.StyleKey.Add(new Series("best linear", "#444444", [], SeriesStyle.Line, "2,3"));
        }
        chart.StyleKey.Add(new Series("zero output", "#888888", [], SeriesStyle.Line));
    }

    /// <summary>At most <see cref="MaxLines"/> values, evenly spread and including both ends.</summary>
    private static List<T> Pick<T>(List<T> values) => values.Count <= MaxLines ? values
        : Enumerable.Range(0, MaxLines).Select(k => values[(int)Math.Round(k * (values.Count - 1.0) / (MaxLines - 1))]).Distinct().ToList();

    private static double[] Dense(double low, double high, bool log)
    {
        if (!(high > low)) return [low];
        return Enumerable.Range(0, 32).Select(k => log ? low * Math.Pow(high / low, k / 31.0) : low + (high - low) * k / 31.0).ToArray();
    }

    private static void Figure(StringBuilder html, Svg svg, string caption)
    {
        html.Append("<figure>").Append(svg.ToString());
        if (caption.Length > 0) html.Append("<figcaption>").Append(E(caption)).Append("</figcaption>");
        html.Append("</figure>\n");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
    private static string G(double v) => double.IsFinite(v) ? v.ToString("G4", C) : "–";
}
