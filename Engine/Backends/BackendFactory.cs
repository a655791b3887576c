using System.Runtime.CompilerServices;
using ToyModels.Backends.Reference;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.InstanceLanes;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;

namespace ToyModels.Backends;

public enum BackendKind
{
    /// <summary>The fastest backend present, and the choice is reported.</summary>
    Auto,
    Reference,
    /// <summary>The vectorised, multi-threaded CPU backend (<see cref="SimdBackend"/>).</summary>
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
public sealed record BackendOptions(int Threads = 0, int Device = 0);

/// <summary>A backend that cannot run here (no runtime, no device, a device that fails the parity rules).</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Makes backends by kind; every backend starts from the host's initial parameters. It is the only way to make
/// one (the backends' constructors are internal), so no backend is ever seen with uninitialised weights.
/// </summary>
public static class BackendFactory
{
    public static string Names => "auto, reference, simd, cuda, opencl, ilgpu-cpu";

    public static BackendKind Parse(string text) => text switch
    {
        "auto" => BackendKind.Auto,
        "reference" => BackendKind.Reference,
        "simd" => BackendKind.Simd,
        "opencl" => BackendKind.OpenCl,
        "cuda" => BackendKind.Cuda,
        "ilgpu-cpu" => BackendKind.IlgpuCpu,
        _ => throw new ConfigException("backend", text, Names),
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
    /// Creates the backend with freshly initialised parameters and zero optimizer state.
    /// <paramref name="notice"/> hears why auto chose what it chose.
    /// </summary>
    public static IBackend Create(BackendKind kind, AutoencoderConfig config, BackendOptions? options = null, Action<string>? notice = null)
    {
        options ??= new BackendOptions();
        if (options.Threads < 0) throw new ConfigException("threads", options.Threads, "0 (all cores) or a positive integer");
        if (options.Device < 0) throw new ConfigException("device", options.Device, "an integer >= 0");
        IBackend backend = kind switch
        {
            BackendKind.Reference => new ReferenceBackend(config),
            BackendKind.Simd => Simd(config, options.Threads),
            BackendKind.OpenCl or BackendKind.Cuda or BackendKind.IlgpuCpu => GpuBackends.Required(kind).Create(kind, config, options.Device),
            BackendKind.Auto => Auto(config, options, notice),
            _ => throw new ConfigException("backend", kind, Names),
        };
        SetInitialParameters(backend, config);
        return backend;
    }

    /// <summary>
    /// The host's initial parameters are as large as the model. For a large model they are handed back to
    /// the operating system before training touches the optimizer state, so the peak memory of a run is
    /// the backend's own.
    /// </summary>
    private static void SetInitialParameters(IBackend backend, AutoencoderConfig config)
    {
        HandOverInitialParameters(backend, config);
        if ((long)config.Layout.Total * sizeof(float) >= LargeInitialization)
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>
    /// In a frame of its own: unoptimised (tier-0) code keeps a call's temporaries alive to the end of the
    /// method, so a collection in the same method as the array found it live and kept it resident (measured:
    /// case L's peak RSS 1.37x parameters + state + activations with it, 1.05x without).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void HandOverInitialParameters(IBackend backend, AutoencoderConfig config) =>
        backend.SetParameters(Initialization.Create(config));

    private const long LargeInitialization = 64L << 20;

    /// <summary>The SIMD backend: many small models one per vector lane, else one model at a time along its own axes.</summary>
    private static IBackend Simd(AutoencoderConfig config, int threads) =>
        InstanceLanesBackend.Suits(config)
            ? new InstanceLanesBackend(config, threads, InstructionSets.Best)
            : new SimdBackend(config, threads);

    /// <summary>
    /// The fastest backend present: a CUDA device, else an OpenCL GPU that computes the engine's bits,
    /// else the CPU. Never a CPU OpenCL device (POCL and the like). Says what it chose and why.
    /// </summary>
    private static IBackend Auto(AutoencoderConfig config, BackendOptions options, Action<string>? notice)
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
        var simd = Simd(config, options.Threads);
        notice?.Invoke($"auto: simd on {simd.Description} ({reasons})");
        return simd;
    }
}
