using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace ToyModels.Backends.Simd;

/// <summary>The items of one parallel phase: each runs exactly once, on any thread, in any order.</summary>
internal interface IWorkItems
{
    /// <param name="item">0 .. count - 1 of the runner's Run(work, count): which item of the phase, each given exactly once.</param>
    /// <param name="thread">0 .. Threads - 1: which thread's scratch memory to use.</param>
    void Run(int item, int thread);
}

/// <summary>
/// Runs the items of a phase: on every thread of a pool, or inline on one thread. When an item throws, items not
/// yet taken are not started and Run rethrows that exception itself (the first one, where several threads fail at
/// once), with its stack trace as thrown: the same behaviour for every thread count.
/// </summary>
internal interface IItemRunner
{
    void Run(IWorkItems work, int count);

    /// <summary>The threads the items run on (1 inline).</summary>
    int Threads { get; }
}

/// <summary>Every item in order on the calling thread, which uses thread <paramref name="thread"/>'s scratch memory.</summary>
internal sealed class InlineItems(int thread) : IItemRunner
{
    public int Threads => 1;

    public void Run(IWorkItems work, int count)
    {
        for (int item = 0; item < count; item++) work.Run(item, thread);
    }
}

/// <summary>
/// A small persistent pool: Threads - 1 worker threads plus the calling thread take the items of one
/// phase at a time from a shared counter. Items write disjoint outputs and never split a reduction,
/// so results do not depend on which thread runs what. Nothing is allocated per phase; workers spin
/// briefly between phases (a training step is a few short phases) and then sleep.
/// </summary>
internal sealed class WorkerPool : IItemRunner, IDisposable
{
    /// <summary>How long an idle worker spins before it sleeps: longer than the gaps between phases of a step.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms

    private readonly Thread[] _workers;
    private readonly object _start = new();
    private readonly object _finish = new();
    private IWorkItems? _work;
    private int _count;
    private int _next;
    private int _busy;
    private long _generation;
    private volatile bool _stopping;
    private ExceptionDispatchInfo? _failure;

    public WorkerPool(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least one thread");
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int t = 0; t < _workers.Length; t++)
        {
            _workers[t] = new Thread(Work) { IsBackground = true, Name = $"ToyModels SIMD {t + 1}" };
            _workers[t].Start(t + 1);
        }
    }

    public int Threads { get; }

    /// <summary>Runs items 0 .. count - 1 of <paramref name="work"/> and returns when all are done.</summary>
    public void Run(IWorkItems work, int count)
    {
        if (count <= 0) return;
        if (_workers.Length == 0 || count == 1)
        {
            for (int item = 0; item < count; item++) work.Run(item, 0);
            return;
        }
        _work = work;
        _count = count;
        _next = 0;
        _failure = null;
        Volatile.Write(ref _busy, _workers.Length);
        lock (_start)
        {
            _generation++;
            Monitor.PulseAll(_start);
        }
        Drain(0);
        WaitForWorkers();
        _work = null;
        _failure?.Throw();
    }

    private void Drain(int thread)
    {
        var work = _work!;
        int item;
        while ((item = Interlocked.Increment(ref _next) - 1) < _count)
        {
            try { work.Run(item, thread); }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                // No item is started after a failure, as on one thread: every taker now sees the counter past the end.
                Volatile.Write(ref _next, _count);
            }
        }
    }

    private void WaitForWorkers()
    {
        long until = Stopwatch.GetTimestamp() + SpinTicks;
        var spin = new SpinWait();
        while (Volatile.Read(ref _busy) != 0)
        {
            if (Stopwatch.GetTimestamp() < until) { spin.SpinOnce(sleep1Threshold: -1); continue; }
            lock (_finish)
                while (Volatile.Read(ref _busy) != 0) Monitor.Wait(_finish);
        }
    }

    private void Work(object? state)
    {
        int thread = (int)state!;
        long seen = 0;
        while (true)
        {
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            var spin = new SpinWait();
            while (Volatile.Read(ref _generation) == seen && !_stopping)
            {
                if (Stopwatch.GetTimestamp() < until) { spin.SpinOnce(sleep1Threshold: -1); continue; }
                lock (_start)
                    while (Volatile.Read(ref _generation) == seen && !_stopping) Monitor.Wait(_start);
            }
            if (_stopping) return;
            seen = Volatile.Read(ref _generation);
            Drain(thread);
            if (Interlocked.Decrement(ref _busy) == 0)
                lock (_finish) Monitor.PulseAll(_finish);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        lock (_start) Monitor.PulseAll(_start);
        foreach (var worker in _workers) worker.Join();
    }
}
