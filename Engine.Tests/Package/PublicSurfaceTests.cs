using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Package;

/// <summary>
/// The packages' public surface is a decision, not an accident: the public types of both assemblies are listed here,
/// so a type made public (or one that stops being public) fails this test until the list says so. What is public is
/// what an embedder needs; everything else is internal, and the internals are visible only to the assemblies named in
/// <see cref="Friends"/>, none of them a sample, so that the samples, compiled against the project as any user would
/// compile against the package, can use the public API alone.
/// </summary>
public sealed partial class PublicSurfaceTests
{
    private static readonly Assembly EngineAssembly = typeof(ToyModels.Model.AutoencoderConfig).Assembly;
    private static readonly Assembly GpuAssembly = typeof(ToyModels.Gpu.GpuBackendProvider).Assembly;

    /// <summary>ToyModels.Engine's public types, nested ones as Outer+Inner.</summary>
    private static readonly string[] EngineTypes =
    [
        // What is trained: the run, its instances, importance, optimizer, initialisation, the parameter layout, defaults.
        "ToyModels.Model.AutoencoderConfig", "ToyModels.Model.ConfigException", "ToyModels.Model.Defaults",
        "ToyModels.Model.Importance", "ToyModels.Model.ImportanceKind", "ToyModels.Model.InitKind", "ToyModels.Model.InstanceSettings",
        "ToyModels.Model.OptimizerKind", "ToyModels.Model.OptimizerSettings", "ToyModels.Model.ParameterLayout",
        "ToyModels.Model.StandardCase", "ToyModels.Model.StandardCases", "ToyModels.Model.TensorView",
        // Where it trains: the factory, its kinds and options, the backend interface and what its members take.
        "ToyModels.Backends.BackendFactory", "ToyModels.Backends.BackendKind", "ToyModels.Backends.BackendOptions",
        "ToyModels.Backends.BackendUnavailableException", "ToyModels.Backends.IBackend", "ToyModels.Backends.IModelState",
        "ToyModels.Backends.ModelStateExtensions", "ToyModels.Backends.OptimizerScalars", "ToyModels.Backends.TensorKind",
        // Training: the trainer, its options, progress, results and cancellation; a run's metrics.csv and summary.json.
        "ToyModels.Training.DivergenceException", "ToyModels.Training.DivergencePolicy", "ToyModels.Training.MetricsFile",
        "ToyModels.Training.SyncProgress`1", "ToyModels.Training.Trainer", "ToyModels.Training.TrainerOptions",
        "ToyModels.Training.TrainingCanceledException", "ToyModels.Training.TrainingProgress", "ToyModels.Training.TrainingResult",
        "ToyModels.Training.TrainingSummary",
        // Checkpoints and the files around a run.
        "ToyModels.IO.AtomicFile", "ToyModels.IO.Checkpoint", "ToyModels.IO.CheckpointException", "ToyModels.IO.CheckpointReader",
        "ToyModels.IO.ConfigJson", "ToyModels.IO.FileError", "ToyModels.IO.GradientDump", "ToyModels.IO.OneLine", "ToyModels.IO.WeightsHash",
        // Whether a run fits, and what it holds.
        "ToyModels.Memory.AvailableMemory", "ToyModels.Memory.CgroupRoom", "ToyModels.Memory.MemoryCheck", "ToyModels.Memory.MemoryEstimate",
        "ToyModels.Memory.MemoryPart", "ToyModels.Memory.MemoryPlace", "ToyModels.Memory.MemoryRefusedException", "ToyModels.Memory.ProcessMemory",
        // Analysis: superposition metrics, baselines, the Persian rug and its theory.
        "ToyModels.Analysis.Baselines", "ToyModels.Analysis.PersianRug", "ToyModels.Analysis.PersianRugFit",
        "ToyModels.Analysis.PersianRugTheory", "ToyModels.Analysis.RugFitOptions", "ToyModels.Analysis.RugFitProgress",
        "ToyModels.Analysis.RugOptimum", "ToyModels.Analysis.SuperpositionMetrics",
        // Sweeps: grid, plan, runner, the crash-safe recorder, results, folder, report.
        "ToyModels.Sweeps.Calibration", "ToyModels.Sweeps.GridException", "ToyModels.Sweeps.MergeSummary", "ToyModels.Sweeps.Pack",
        "ToyModels.Sweeps.PackCalibrator", "ToyModels.Sweeps.PackEstimate", "ToyModels.Sweeps.PackProgress", "ToyModels.Sweeps.ResultsFile",
        "ToyModels.Sweeps.RunOutcome", "ToyModels.Sweeps.RunRecorder", "ToyModels.Sweeps.ShardException", "ToyModels.Sweeps.SweepEstimate", "ToyModels.Sweeps.SweepFolder",
        "ToyModels.Sweeps.SweepFolderException", "ToyModels.Sweeps.SweepGrid", "ToyModels.Sweeps.SweepPlan", "ToyModels.Sweeps.SweepReport",
        "ToyModels.Sweeps.SweepResult", "ToyModels.Sweeps.SweepRun", "ToyModels.Sweeps.SweepRunner", "ToyModels.Sweeps.SweepShard",
        // Pictures the samples draw: an SVG canvas, colour maps and bars, matrix heatmaps.
        "ToyModels.Pictures.ColorBar", "ToyModels.Pictures.ColorMap", "ToyModels.Pictures.MatrixPicture", "ToyModels.Pictures.Rgb",
        "ToyModels.Pictures.Svg",
    ];

    /// <summary>ToyModels.Engine.Gpu has no public types: BackendFactory finds its backends by name.</summary>
    private static readonly string[] GpuTypes = [];

    /// <summary>The assemblies that see each package's internals: tests, benchmarks, the measuring tool, and the GPU package.</summary>
    private static readonly Dictionary<Assembly, string[]> Friends = new()
    {
        [EngineAssembly] = ["Benchmarks", "measure", "ToyModels.Engine.Gpu", "ToyModels.Engine.Tests"],
        // ILGPU's CPU accelerator runs the kernels from a dynamic assembly of that name.
        [GpuAssembly] = ["ILGPURuntime", "measure", "ToyModels.Engine.Tests"],
    };

    [Fact]
    public void The_engine_exports_exactly_the_approved_types() => AssertSurface(EngineAssembly, EngineTypes);

    [Fact]
    public void The_gpu_package_exports_exactly_the_approved_types() => AssertSurface(GpuAssembly, GpuTypes);

    [Fact]
    public void Only_the_approved_assemblies_see_internals_and_no_sample_is_among_them()
    {
        var samples = SampleAssemblies();
        Assert.Contains("embed", samples);
        Assert.Contains("train", samples);
        foreach (var (assembly, approved) in Friends)
        {
            var friends = assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(approved.Order(StringComparer.Ordinal), friends);
            Assert.Empty(friends.Intersect(samples, StringComparer.OrdinalIgnoreCase));
        }
    }

    private static void AssertSurface(Assembly assembly, string[] approved)
    {
        var exported = assembly.GetExportedTypes().Select(t => t.FullName!).ToHashSet(StringComparer.Ordinal);
        var added = exported.Except(approved).Order(StringComparer.Ordinal).ToList();
        var removed = approved.Except(exported).Order(StringComparer.Ordinal).ToList();
        Assert.True(added.Count == 0 && removed.Count == 0,
            $"{assembly.GetName().Name}'s public types differ from the approved list in {nameof(PublicSurfaceTests)}: " +
            $"public but not approved: [{string.Join(", ", added)}]; approved but not public: [{string.Join(", ", removed)}]. " +
            "Make the type internal, or, if embedders need it, document it and add it to the list.");
        Assert.Equal(approved.Length, approved.Distinct().Count());
    }

    /// <summary>The assembly name of every project under Samples/ (AssemblyName, or the project file's name).</summary>
    private static HashSet<string> SampleAssemblies()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string project in Directory.GetFiles(Repository.PathOf("Samples"), "*.csproj", SearchOption.AllDirectories))
        {
            var match = AssemblyName().Match(File.ReadAllText(project));
            names.Add(match.Success ? match.Groups[1].Value.Trim() : Path.GetFileNameWithoutExtension(project));
        }
        return names;
    }

    [GeneratedRegex("<AssemblyName>([^<]+)</AssemblyName>")]
    private static partial Regex AssemblyName();
}
