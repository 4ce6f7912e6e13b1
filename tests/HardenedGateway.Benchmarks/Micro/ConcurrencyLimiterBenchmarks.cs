using BenchmarkDotNet.Attributes;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>The limiter on the request path: a free slot, a rejection at the limit, and two threads contending.</summary>
/// <remarks>Target (issue 7): a free acquire/release allocates nothing.</remarks>
public class ConcurrencyLimiterBenchmarks
{
    private const int ContendedOperations = Contention.OperationsPerThread * Contention.Threads;

    private readonly Contention _contention = new();
    private readonly ConcurrencyLimiter _free = new(10_000);
    private readonly ConcurrencyLimiter _full = new(1);
    private readonly ConcurrencyLimiter _contendedWide = new(10_000);
    private readonly ConcurrencyLimiter _contendedSingleSlot = new(1);

    [GlobalSetup]
    public void Setup()
    {
        if (!_full.TryAcquire())
        {
            throw new InvalidOperationException("could not fill the limiter");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _contention.Dispose();

    [Benchmark(Baseline = true)]
    public bool TryAcquireRelease_Free()
    {
        var acquired = _free.TryAcquire();
        _free.Release();
        return acquired;
    }

    [Benchmark]
    public bool TryAcquire_AtLimit_Rejected() => _full.TryAcquire();

    /// <summary>Two threads take and give back slots of a generous limiter: the cost of the shared counter's cache line.</summary>
    [Benchmark(OperationsPerInvoke = ContendedOperations)]
    public void TryAcquireRelease_TwoThreads_GenerousLimit() => _contention.Run(_contendedWide, TryAcquireRelease);

    /// <summary>Two threads fight over one slot: about half of the attempts are rejections.</summary>
    [Benchmark(OperationsPerInvoke = ContendedOperations)]
    public void TryAcquireRelease_TwoThreads_OneSlot() => _contention.Run(_contendedSingleSlot, TryAcquireRelease);

    private static void TryAcquireRelease(ConcurrencyLimiter limiter)
    {
        if (limiter.TryAcquire())
        {
            limiter.Release();
        }
    }
}
