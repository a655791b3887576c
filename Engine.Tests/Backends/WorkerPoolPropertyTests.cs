using FsCheck;
using FsCheck.Fluent;
using ToyModels.Backends.Simd;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>
/// WorkerPool's exception path, the same for every thread count: the exception an item threw reaches the caller of
/// Run itself (not wrapped), with the item's frame in its stack trace; no item runs twice; on one thread no item after
/// the failing one starts; and the same pool then runs the next phase completely, however many phases failed before.
/// </summary>
public sealed class WorkerPoolPropertyTests
{
    /// <summary>Items that count their runs and throw (a distinct exception each) where told to.</summary>
    private sealed class Items(int count, IReadOnlySet<int> throwing) : IWorkItems
    {
        public readonly int[] Runs = new int[count];
        public readonly Dictionary<int, Exception> Thrown = [];

        public void Run(int item, int thread)
        {
            Interlocked.Increment(ref Runs[item]);
            if (throwing.Contains(item)) Fail(item);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        internal void Fail(int item)
        {
            var failure = new InvalidOperationException($"item {item} failed");
            lock (Thrown) Thrown[item] = failure;
            throw failure;
        }
    }

    [Fact]
    public void An_items_exception_reaches_the_caller_and_the_pool_keeps_working()
    {
        // One pool per size for the whole property: each lives through every failing phase drawn for it.
        var pools = Enumerable.Range(1, 3).Select(threads => new WorkerPool(threads)).ToArray();
        try
        {
            var phases =
                from pool in Gen.Elements(pools)
                from count in Gen.Choose(1, 40)
                from throwing in Gen.SubListOf(Enumerable.Range(0, count))
                from next in Gen.Choose(0, 40)
                select (pool, count, throwing: throwing.ToHashSet(), next);
            Properties.Check(Prop.ForAll(phases.ToArbitrary(), phase =>
            {
                var failing = new Items(phase.count, phase.throwing);
                Exception? caught = null;
                try { phase.pool.Run(failing, phase.count); }
                catch (Exception e) { caught = e; }
                Assert.All(failing.Runs, runs => Assert.InRange(runs, 0, 1));
                if (phase.throwing.Count == 0)
                {
                    Assert.Null(caught);
                    Assert.All(failing.Runs, runs => Assert.Equal(1, runs));
                }
                else
                {
                    // The item's own exception object, thrown again with the stack of the throw inside the item.
                    Assert.NotNull(caught);
                    Assert.IsType<InvalidOperationException>(caught);
                    Assert.Contains(caught, failing.Thrown.Values);
                    Assert.Contains(nameof(Items.Fail), caught!.StackTrace);
                    if (phase.pool.Threads == 1)
                    {
                        // One thread: the items before the first failing one ran, that one threw, none after it started.
                        int first = phase.throwing.Min();
                        Assert.Same(failing.Thrown[first], caught);
                        Assert.Equal(Enumerable.Range(0, phase.count).Select(i => i <= first ? 1 : 0), failing.Runs);
                    }
                }
                var next = new Items(phase.next, new HashSet<int>());
                phase.pool.Run(next, phase.next);
                Assert.All(next.Runs, runs => Assert.Equal(1, runs));
            }), cases: 100, seed: 53);
        }
        finally
        {
            foreach (var pool in pools) pool.Dispose();
        }
    }
}
