namespace ToyModels.Training;

/// <summary>
/// An <see cref="IProgress{T}"/> that reports on the thread that trains, at once and in order.
/// <see cref="Progress{T}"/> posts each report to the thread pool (or the captured synchronization
/// context), so reports of a console program would arrive late, out of order, or after the run ended.
/// </summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    private readonly Action<T> _report = report ?? throw new ArgumentNullException(nameof(report));

    /// <summary>Calls the action with <paramref name="value"/> on the calling thread.</summary>
    public void Report(T value) => _report(value);
}
