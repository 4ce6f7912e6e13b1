using BenchmarkDotNet.Attributes;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>Breaker admission in each state.</summary>
/// <remarks>Target (issue 7): a closed-breaker admission allocates nothing; rejections allocate nothing (house style).</remarks>
public class CircuitBreakerBenchmarks
{
    private readonly CircuitBreaker _closed = new(new CircuitBreakerOptions { FailureThreshold = 1000 });
    private readonly CircuitBreaker _open = new(new CircuitBreakerOptions { FailureThreshold = 1, RecoveryTimeout = TimeSpan.FromDays(1) });
    private readonly CircuitBreaker _halfOpen = new(new CircuitBreakerOptions { FailureThreshold = 1, RecoveryTimeout = TimeSpan.FromMilliseconds(1) });
    private readonly CircuitBreaker _halfOpenFull = new(new CircuitBreakerOptions { FailureThreshold = 1, RecoveryTimeout = TimeSpan.FromMilliseconds(1) });

    [GlobalSetup]
    public void Setup()
    {
        Trip(_open);
        Trip(_halfOpen);
        Trip(_halfOpenFull);
        Thread.Sleep(50); // past the 1 ms recovery timeout: the next question turns them half-open
        Expect(_open, CircuitState.Open);
        Expect(_halfOpen, CircuitState.HalfOpen);
        Expect(_halfOpenFull, CircuitState.HalfOpen);
        if (!_halfOpenFull.TryAdmit(out _))
        {
            throw new InvalidOperationException("the half-open breaker did not admit its probe");
        }
    }

    [Benchmark(Baseline = true)]
    public void Closed_TryAdmitOnSuccess()
    {
        if (_closed.TryAdmit(out var permit))
        {
            _closed.OnSuccess(permit);
        }
    }

    [Benchmark]
    public bool Open_TryAdmit_Rejected() => _open.TryAdmit(out _);

    /// <summary>A probe admitted and abandoned, which keeps the breaker half-open for the next invocation.</summary>
    [Benchmark]
    public void HalfOpen_TryAdmitOnAbandoned()
    {
        if (_halfOpen.TryAdmit(out var permit))
        {
            _halfOpen.OnAbandoned(permit);
        }
    }

    [Benchmark]
    public bool HalfOpen_ProbeSlotsTaken_Rejected() => _halfOpenFull.TryAdmit(out _);

    private static void Trip(CircuitBreaker breaker)
    {
        if (!breaker.TryAdmit(out var permit))
        {
            throw new InvalidOperationException("a new breaker rejected a request");
        }

        breaker.OnFailure(permit);
    }

    private static void Expect(CircuitBreaker breaker, CircuitState state)
    {
        if (breaker.State != state)
        {
            throw new InvalidOperationException($"expected {state}, the breaker is {breaker.State}");
        }
    }
}
