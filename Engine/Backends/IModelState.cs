using ToyModels.Model;

namespace ToyModels.Backends;

/// <summary>
/// Parameters and optimizer state in the canonical layout (<see cref="ParameterLayout"/>), read and written in
/// pieces at 64-bit offsets: a model may hold more floats than one span (2^31), and a checkpoint streams through
/// a small buffer instead of a second copy of the model. A backend is one; so is an in-memory checkpoint.
/// </summary>
/// <remarks>
/// Parameters are floats 0 .. Layout.Total - 1; optimizer state is Optimizer.StateSlots consecutive blocks of
/// Layout.Total floats (Adam: m then v; SGD with momentum: the momentum buffer), floats 0 .. StateSlots * Total - 1.
/// Any range in any order is allowed; a range that leaves the buffer throws <see cref="ArgumentOutOfRangeException"/>.
/// </remarks>
public interface IModelState
{
    /// <summary>The run this state belongs to: its layout sizes the buffers.</summary>
    AutoencoderConfig Config { get; }

    /// <summary>Parameters [start, start + destination.Length) into <paramref name="destination"/>.</summary>
    void ReadParameters(long start, Span<float> destination);
    /// <summary>Parameters [start, start + source.Length) from <paramref name="source"/>.</summary>
    void WriteParameters(long start, ReadOnlySpan<float> source);
    /// <summary>Optimizer state [start, start + destination.Length) into <paramref name="destination"/>.</summary>
    void ReadOptimizerState(long start, Span<float> destination);
    /// <summary>Optimizer state [start, start + source.Length) from <paramref name="source"/>.</summary>
    void WriteOptimizerState(long start, ReadOnlySpan<float> source);
}

/// <summary>Whole-buffer reads and writes of an <see cref="IModelState"/>, for models whose buffers fit one span.</summary>
public static class ModelStateExtensions
{
    /// <summary>Floats of optimizer state: StateSlots x Layout.Total.</summary>
    public static long OptimizerStateLength(this AutoencoderConfig config) => config.Optimizer.StateSlots * config.Layout.Total;

    /// <summary>Writes every parameter (all instances, <see cref="ParameterLayout"/> order).</summary>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> does not hold exactly Layout.Total floats.</exception>
    public static void SetParameters(this IModelState state, ReadOnlySpan<float> parameters)
    {
        Whole(parameters.Length, state.Config.Layout.Total, nameof(parameters));
        state.WriteParameters(0, parameters);
    }

    /// <summary>Reads every parameter (all instances, <see cref="ParameterLayout"/> order) into <paramref name="parameters"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> does not hold exactly Layout.Total floats.</exception>
    public static void GetParameters(this IModelState state, Span<float> parameters)
    {
        Whole(parameters.Length, state.Config.Layout.Total, nameof(parameters));
        state.ReadParameters(0, parameters);
    }

    /// <summary>Writes the whole optimizer state (StateSlots blocks of Layout.Total floats).</summary>
    /// <exception cref="ArgumentException"><paramref name="optimizerState"/> has another length.</exception>
    public static void SetOptimizerState(this IModelState state, ReadOnlySpan<float> optimizerState)
    {
        Whole(optimizerState.Length, state.Config.OptimizerStateLength(), nameof(optimizerState));
        state.WriteOptimizerState(0, optimizerState);
    }

    /// <summary>Reads the whole optimizer state (StateSlots blocks of Layout.Total floats).</summary>
    /// <exception cref="ArgumentException"><paramref name="optimizerState"/> has another length.</exception>
    public static void GetOptimizerState(this IModelState state, Span<float> optimizerState)
    {
        Whole(optimizerState.Length, state.Config.OptimizerStateLength(), nameof(optimizerState));
        state.ReadOptimizerState(0, optimizerState);
    }

    /// <summary>Checks that [start, start + length) lies in a buffer of <paramref name="total"/> floats.</summary>
    internal static void CheckRange(long start, int length, long total, string buffer)
    {
        if (start < 0 || start > total - length)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"{buffer} [{start}, {start + length}) leaves the {total} floats there are");
    }

    private static void Whole(int length, long expected, string name)
    {
        if (length != expected) throw new ArgumentException($"{name} has {length} floats; {expected} expected", name);
    }
}
