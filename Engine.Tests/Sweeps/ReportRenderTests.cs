using System.Diagnostics;
using ToyModels.Backends;
using ToyModels.Pictures;
using ToyModels.Sweeps;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Sweeps;

/// <summary>
/// Opens a sweep's report.html in a real browser (Debian's chromium, headless) and checks the screenshot:
/// the page is drawn, the charts' colours are there, and the heatmap cells have the colours of their values.
/// Skipped, saying so, where chromium is not installed.
/// </summary>
[Trait("Category", "Slow")]
public class ReportRenderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-report-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static string? FindChromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    /// <summary>A small sweep written the way Samples/Sweep writes it: rows, metrics files, featured checkpoints, report.</summary>
    private SweepFolder SmallSweep(out SweepGrid grid)
    {
        grid = SweepGrid.Parse("""{"name": "render test", "n": 16, "ratio": [0.25, 0.5], "p": [0.05, 0.2], "batch": 32, "steps": 60, "eval_samples": 128}""", "render.json");
        var folder = new SweepFolder(Path.Combine(_folder, "sweep"));
        folder.Claim(grid, force: false);
        var featured = SweepReport.FeaturedRuns(grid).Select(r => r.Id).ToHashSet();
        using var results = ResultsFile.Open(folder.MergedResults);
        foreach (var pack in SweepPlan.Packs(grid.Runs, 64, long.MaxValue))
            foreach (var outcome in new SweepRunner(BackendKind.Reference).Train(pack))
            {
                ToyModels.IO.AtomicFile.WriteAllText(folder.MetricsFile(outcome.Run.Id), outcome.Metrics.ToJson());
                if (featured.Contains(outcome.Run.Id)) outcome.Checkpoint.Save(folder.CheckpointFile(outcome.Run.Id));
                results.Append(outcome.Result);
            }
        return folder;
    }

    [SkippableFact]
    public void The_report_renders_in_chromium_with_its_charts_and_heatmap_colours()
    {
        string? chromium = FindChromium();
        Skip.If(chromium is null, "chromium is not installed (apt-get install chromium); the report is not rendered in a browser");
        var folder = SmallSweep(out var grid);
        SweepReport.Write(folder, grid, "render test");

        string screenshot = Path.Combine(_folder, "report.png");
        var start = new ProcessStartInfo(chromium!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(_folder, "profile")}", $"--screenshot={screenshot}",
                     "--window-size=1400,1900", new Uri(folder.ReportFile).AbsoluteUri })
            start.ArgumentList.Add(arg);
        using (var process = Process.Start(start)!)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(120_000), "chromium did not finish in 2 minutes");
            Assert.True(File.Exists(screenshot), $"no screenshot; chromium said: {stderr.Result}");
        }

        var image = new PngReader(File.ReadAllBytes(screenshot));
        Assert.Equal(1400, image.Width);
        Assert.Equal(1900, image.Height);
        var counts = new Dictionary<(byte, byte, byte), int>();
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
            {
                var c = image[x, y];
                counts[c] = counts.GetValueOrDefault(c) + 1;
            }
        int white = counts.GetValueOrDefault(((byte)255, (byte)255, (byte)255));
        Assert.True(white < 0.95 * image.Width * image.Height, $"the page is {100.0 * white / (image.Width * image.Height):F1}% white");
        Assert.True(counts.Count > 200, $"only {counts.Count} distinct colours: charts missing?");

        // A heatmap cell is a solid block of its value's colour: find the relative-loss cell of the first run.
        var rows = folder.GridRows(grid);
        var first = rows.Where(r => r.M == rows[0].M && r.P == rows[0].P).ToList();
        var cell = ColorMap.Viridis.At(first.Average(r => r.EvalLoss / r.ZeroLoss));
        int cellPixels = counts.GetValueOrDefault((cell.R, cell.G, cell.B));
        Assert.True(cellPixels > 2000, $"the heatmap cell colour {cell.Hex} covers {cellPixels} pixels");
        // The first series' colour (markers and lines of the line charts).
        var series = Rgb.Parse(ColorMap.Categories[0]);
        Assert.True(counts.GetValueOrDefault((series.R, series.G, series.B)) > 20, "the first series' colour is missing");
    }
}
