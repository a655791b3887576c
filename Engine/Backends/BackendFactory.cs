using ToyModels.Backends.Reference;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.InstanceLanes;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Memory;
using ToyModels.Model;

namespace ToyModels.Backends;

/// <summary>Where a run trains; every kind computes the same bits (numerics.md rule 7). <see cref="BackendFactory.Parse"/> reads their names.</summary>
public enum BackendKind
{
    /// <summary>The fastest backend present, and the choice is reported.</summary>
    Auto,
    /// <summary>The scalar reference: one thread, the contract written out plainly; slow, for checking the others.</summary>
    Reference,
    /// <summary>The vectorised, multi-threaded CPU backend: AVX-512, AVX2 or 128-bit vectors, whichever the processor has.</summary>
    Simd,
    /// <summary>An OpenCL device through ILGPU (<see cref="BackendOptions.Device"/> numbers all devices of all platforms).</summary>
    OpenCl,
    /// <summary>A CUDA device through ILGPU (<see cref="BackendOptions.Device"/> is the driver's ordinal).</summary>
    Cuda,
    /// <summary>The GPU kernels on ILGPU's CPU accelerator: bit-exact and slow, for tests and debugging.</summary>
    IlgpuCpu,
}

/// <summary>
/// How to run a backend: host threads (0: all cores) and which device among several (cuda: the
/// driver's ordinal; opencl: the number among all OpenCL devices; auto: the CUDA ordinal, or the number
/// among the OpenCL GPUs that compute the engine's bits).
/// </summary>
public sealed record BackendOptions(int Threads = 0, int Device = 0)
{
    /// <summary>
    /// What the caller will hold on the host beside the backend while it lives (evaluation rows, copies of results),
    /// counted with the backend's own memory when the factory checks that the run fits.
    /// </summary>
    public IReadOnlyList<MemoryPart> HostParts { get; init; } = [];

    /// <summary>
    /// Evaluation samples the caller will ask for (0: none; default: any number). The lane layout writes its x, h
    /// and z only to evaluate, one batch of rows at a time at most, and its estimate counts the rows that will be used.
    /// </summary>
    public long EvaluationSamples { get; init; } = long.MaxValue;
}

/// <summary>A backend that cannot run here (no runtime, no device, a device that fails the parity rules).</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Makes backends by kind; every backend starts from the host's initial parameters. It is the only way to make
/// one (the backends' constructors are internal), so no backend is ever seen with uninitialised weights.
/// </summary>
public static class BackendFactory
{
    /// <summary>Every name <see cref="Parse"/> accepts, comma-separated, for messages and help texts.</summary>
    public static string Names => "auto, reference, simd, cuda, opencl, ilgpu-cpu";

    /// <summary>The kind of that name (lower case, as <see cref="Names"/> lists them).</summary>
    /// <exception cref="ConfigException">Any other text.</exception>
    public static BackendKind Parse(string text) => text switch
    {
        "auto" => BackendKind.Auto,
        "reference" => BackendKind.Reference,
        "simd" => BackendKind.Simd,
        "opencl" => BackendKind.OpenCl,
        "cuda" => BackendKind.Cuda,
        "ilgpu-cpu" => BackendKind.IlgpuCpu,
        _ => throw new ConfigException("BackendKind", text, Names),
    };

    /// <summary>The name <see cref="Parse"/> reads.</summary>
    public static string Name(BackendKind kind) => kind switch
    {
        BackendKind.Auto => "auto",
        BackendKind.Reference => "reference",
        BackendKind.Simd => "simd",
        BackendKind.OpenCl => "opencl",
        BackendKind.Cuda => "cuda",
        BackendKind.IlgpuCpu => "ilgpu-cpu",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backend kind"),
    };

    /// <summary>
    /// Creates the backend with freshly initialised parameters and zero optimizer state. A backend is made only
    /// when its estimated host memory (<see cref="EstimateMemory"/>) fits in the memory available, and a GPU
    /// backend's device buffers in its device's memory; otherwise <see cref="MemoryRefusedException"/> says so with
    /// the figures, before anything is allocated.
    /// <paramref name="notice"/> hears why auto chose what it chose, <paramref name="estimated"/> the estimate a host
    /// backend was checked against (made after auto's look for devices, whose runtimes a process then holds).
    /// </summary>
    public static IBackend Create(BackendKind kind, AutoencoderConfig config, BackendOptions? options = null, Action<string>? notice = null,
        Action<MemoryEstimate>? estimated = null)
    {
        options ??= new BackendOptions();
        if (options.Threads < 0) throw new ConfigException("BackendOptions.Threads", options.Threads, "0 (all cores) or a positive integer");
        if (options.Device < 0) throw new ConfigException("BackendOptions.Device", options.Device, "an integer >= 0");
        IBackend backend = kind switch
        {
            BackendKind.Reference => Reference(config, options, estimated),
            BackendKind.Simd => Simd(config, options, estimated),
            BackendKind.OpenCl or BackendKind.Cuda or BackendKind.IlgpuCpu =>
                Checked(kind, config, options, estimated, () => GpuBackends.Required(kind).Create(kind, config, options.Device)),
            BackendKind.Auto => Auto(config, options, notice, estimated),
            _ => throw new ConfigException("BackendKind", kind, Names),
        };
        try { SetInitialParameters(backend, config); }
        catch
        {
            backend.Dispose();
            throw;
        }
        return backend;
    }

    /// <summary>
    /// The peak memory of a run on a backend of this kind: what the process holds now, what the training code adds
    /// when it first runs, the backend's buffers (a GPU backend's as <see cref="MemoryPlace.Device"/> parts) and the
    /// caller's <see cref="BackendOptions.HostParts"/>. Auto is estimated as simd, the backend it falls back to
    /// (a GPU backend needs less of the host).
    /// </summary>
    public static MemoryEstimate EstimateMemory(BackendKind kind, AutoencoderConfig config, BackendOptions? options = null)
    {
        options ??= new BackendOptions();
        IEnumerable<MemoryPart> backend = kind switch
        {
            BackendKind.Reference => ReferenceBackend.Memory(config),
            BackendKind.OpenCl or BackendKind.Cuda or BackendKind.IlgpuCpu => GpuBackends.Find()?.Memory(kind, config) ?? [],
            _ => InstanceLanesBackend.Suits(config)
                ? InstanceLanesMemory.Parts(config, options.Threads, InstructionSets.Best, options.EvaluationSamples)
                : SimdMemory.Parts(config, options.Threads),
        };
        return new MemoryEstimate(
        [
            new MemoryPart(MemoryEstimate.ResidentName, ProcessMemory.Resident()),
            new MemoryPart("training code", TrainingCodeBytes),
            new MemoryPart("streaming buffer", IO.StreamBuffer.Bytes(config.Layout.Total)),
            .. backend,
            .. options.HostParts,
        ]);
    }

    /// <summary>
    /// What running the training code adds to a process beyond its buffers: JIT-compiled code, the worker threads'
    /// stacks, the runtime's own structures (measured on Samples/Train; see the README's memory formula).
    /// </summary>
    internal const long TrainingCodeBytes = 16L << 20;

    private static void SetInitialParameters(IBackend backend, AutoencoderConfig config)
    {
        using var chunk = new IO.StreamBuffer(config.Layout.Total);
        for (long start = 0; start < config.Layout.Total; start += chunk.Length)
        {
            var piece = chunk.Span((int)Math.Min(chunk.Length, config.Layout.Total - start));
            Initialization.Fill(config, start, piece);
            backend.WriteParameters(start, piece);
        }
    }

    /// <summary>Makes a host backend only when the run fits in the memory available (refused before anything is allocated).</summary>
    private static IBackend Checked(BackendKind kind, AutoencoderConfig config, BackendOptions options, Action<MemoryEstimate>? estimated, Func<IBackend> make)
    {
        var estimate = EstimateMemory(kind, config, options);
        estimated?.Invoke(estimate);
        MemoryCheck.Require(estimate, $"n {config.N}, m {config.M}, batch {config.Batch}, {config.InstanceCount} instance(s) on {Name(kind)}");
        return make();
    }

    private static IBackend Reference(AutoencoderConfig config, BackendOptions options, Action<MemoryEstimate>? estimated)
    {
        ReferenceBackend.CheckSizes(config);
        return Checked(BackendKind.Reference, config, options, estimated, () => new ReferenceBackend(config));
    }

    /// <summary>The SIMD backend: many small models one per vector lane, else one model at a time along its own axes.</summary>
    private static IBackend Simd(AutoencoderConfig config, BackendOptions options, Action<MemoryEstimate>? estimated)
    {
        SimdMemory.CheckSizes(config);
        return Checked(BackendKind.Simd, config, options, estimated, () => InstanceLanesBackend.Suits(config)
            ? new InstanceLanesBackend(config, options.Threads, InstructionSets.Best)
            : new SimdBackend(config, options.Threads));
    }

    /// <summary>
    /// The fastest backend present: a CUDA device, else an OpenCL GPU that computes the engine's bits,
    /// else the CPU. Never a CPU OpenCL device (POCL and the like). Says what it chose and why.
    /// </summary>
    private static IBackend Auto(AutoencoderConfig config, BackendOptions options, Action<string>? notice, Action<MemoryEstimate>? estimated)
    {
        string reasons;
        var gpu = GpuBackends.Find();
        if (gpu is null)
        {
            reasons = GpuBackends.Missing;
        }
        else
        {
            var backend = gpu.CreateFastest(config, options.Device, out string choice, out reasons);
            if (backend is not null)
            {
                notice?.Invoke($"auto: {choice}");
                return backend;
            }
        }
        var simd = Simd(config, options, estimated);
        notice?.Invoke($"auto: simd on {simd.Description} ({reasons})");
        return simd;
    }
}
