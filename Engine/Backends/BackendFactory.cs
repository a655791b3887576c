using ToyModels.Backends.Reference;
using ToyModels.Backends.Simd;
using ToyModels.Model;

namespace ToyModels.Backends;

public enum BackendKind
{
    /// <summary>The fastest backend present, and the choice is reported.</summary>
    Auto,
    Reference,
    /// <summary>The vectorised, multi-threaded CPU backend (<see cref="SimdBackend"/>).</summary>
    Simd,
}

/// <summary>How to run a backend: host threads (0: all cores) and which device among several.</summary>
public sealed record BackendOptions(int Threads = 0, int Device = 0);

/// <summary>A backend that cannot run here (no runtime, no device, a device that fails the parity rules).</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Makes backends by kind; every backend starts from the host's initial parameters.</summary>
public static class BackendFactory
{
    public static string Names => "auto, reference, simd";

    public static BackendKind Parse(string text) => text switch
    {
        "auto" => BackendKind.Auto,
        "reference" => BackendKind.Reference,
        "simd" => BackendKind.Simd,
        _ => throw new ConfigException("backend", text, Names),
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
            BackendKind.Simd => new SimdBackend(config, options.Threads),
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
        backend.SetParameters(Initialization.Create(config));
        if ((long)config.Layout.Total * sizeof(float) >= LargeInitialization)
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private const long LargeInitialization = 64L << 20;

    private static IBackend Auto(AutoencoderConfig config, BackendOptions options, Action<string>? notice)
    {
        var backend = new SimdBackend(config, options.Threads);
        notice?.Invoke($"auto: simd ({backend.Description}); no GPU backend is built into this engine yet");
        return backend;
    }
}
