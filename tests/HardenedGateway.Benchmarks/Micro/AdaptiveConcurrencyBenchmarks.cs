using System.Diagnostics;
using BenchmarkDotNet.Attributes;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>
/// The adaptive limiter on the request path (issue 12): acquire, release and the latency sample, against
/// the static limiter. Target: 0 B allocated per operation; per request within a few tens of
/// nanoseconds of the static limiter.
/// </summary>
public class AdaptiveConcurrencyBenchmarks
{
    private static readonly long FiftyMs = Stopwatch.Frequency / 20;

    private readonly ConcurrencyLimiter _static = new(10_000);
    private readonly ConcurrencyLimiter _adaptive = new(new AdaptiveConcurrencyOptions { Enabled = true, MinLimit = 1, MaxLimit = 10_000, InitialLimit = 10_000 });

    /// <summary>Reference: a free slot of the static limiter taken and given back.</summary>
    [Benchmark(Baseline = true)]
    public bool Static_TryAcquireRelease()
    {
        var acquired = _static.TryAcquire();
        _static.Release();
        return acquired;
    }

    /// <summary>The same on the adaptive limiter (the limit is a field the controller moves).</summary>
    [Benchmark]
    public bool Adaptive_TryAcquireRelease()
    {
        var acquired = _adaptive.TryAcquire();
        _adaptive.Release();
        return acquired;
    }

    /// <summary>The static limiter's whole per-request path: acquire, the (ignored) header sample, release.</summary>
    [Benchmark]
    public bool Static_PerRequest()
    {
        var acquired = _static.TryAcquire();
        var now = Stopwatch.GetTimestamp();
        _static.OnResponseHeaders(now - FiftyMs, now, 200);
        _static.Release();
        return acquired;
    }

    /// <summary>The adaptive limiter's whole per-request path: acquire, one latency sample (windows close every 100 ms), release.</summary>
    [Benchmark]
    public bool Adaptive_PerRequest()
    {
        var acquired = _adaptive.TryAcquire();
        var now = Stopwatch.GetTimestamp();
        _adaptive.OnResponseHeaders(now - FiftyMs, now, 200);
        _adaptive.Release();
        return acquired;
    }

    /// <summary>One latency sample alone.</summary>
    [Benchmark]
    public void Adaptive_Sample()
    {
        var now = Stopwatch.GetTimestamp();
        _adaptive.OnResponseHeaders(now - FiftyMs, now, 200);
    }
}
