using ToyModels.Backends.Reference;
using ToyModels.Model;

namespace ToyModels.Backends;

public enum BackendKind
{
    /// <summary>The fastest backend present, and the choice is reported.</summary>
    Auto,
    Reference,
}

/// <summary>How to run a backend: host threads (0: all cores) and which device among several.</summary>
public sealed record BackendOptions(int Threads = 0, int Device = 0);

/// <summary>A backend that cannot run here (no runtime, no device, a device that fails the parity rules).</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Makes backends by kind; every backend starts from the host's initial parameters.</summary>
public static class BackendFactory
{
    public static string Names => "auto, reference";

    public static BackendKind Parse(string text) => text switch
    {
        "auto" => BackendKind.Auto,
        "reference" => BackendKind.Reference,
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
            BackendKind.Auto => Auto(config, notice),
            _ => throw new ConfigException("backend", kind, Names),
        };
        backend.SetParameters(Initialization.Create(config));
        return backend;
    }

    private static IBackend Auto(AutoencoderConfig config, Action<string>? notice)
    {
        notice?.Invoke("auto: reference (no faster backend is built into this engine yet)");
        return new ReferenceBackend(config);
    }
}
