using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.CircuitBreaking;

/// <summary>
/// The breaker's contract at its edges (issue 10, mutation testing): well past the recovery timeout,
/// probes of an earlier half-open period, a reset racing with admission, and a remote trip far in the past.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class CircuitBreakerContractTests
{
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);

    [Test]
    public void State_LongAfterRecoveryTimeout_ReportsHalfOpen()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time);
        Trip(breaker);

        time.Advance(RecoveryTimeout + TimeSpan.FromMinutes(5));

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen));
            Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.Zero));
        });
    }

    [Test]
    public void TryAdmit_LongAfterRecoveryTimeout_AdmitsProbe()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time);
        Trip(breaker);

        time.Advance(RecoveryTimeout + TimeSpan.FromMinutes(5));
        var admitted = breaker.TryAdmit(out var probe);

        Assert.Multiple(() =>
        {
            Assert.That(admitted, Is.True, "an open circuit whose recovery timeout has long passed must admit a probe");
            Assert.That(probe.IsProbe, Is.True);
            Assert.That(breaker.ProbesInFlight, Is.EqualTo(1));
        });
    }

    [Test]
    public void OnSuccess_ProbeFromEarlierHalfOpenPeriod_IsIgnored()
    {
        var (breaker, slowProbe) = SecondHalfOpenPeriodWithStaleProbe();
        Assert.That(breaker.TryAdmit(out var currentProbe), Is.True);

        breaker.OnSuccess(slowProbe);                    // a verdict on the upstream of a minute ago

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen), "only a probe of the current half-open period may close the circuit");
            Assert.That(breaker.ProbesInFlight, Is.EqualTo(1));
        });
        breaker.OnSuccess(currentProbe);
        Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
    }

    [Test]
    public void OnFailure_ProbeFromEarlierHalfOpenPeriod_IsIgnored()
    {
        var (breaker, slowProbe) = SecondHalfOpenPeriodWithStaleProbe();
        Assert.That(breaker.TryAdmit(out _), Is.True);

        breaker.OnFailure(slowProbe);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen), "a stale probe's failure must not re-open the circuit");
            Assert.That(breaker.ProbesInFlight, Is.EqualTo(1));
        });
    }

    [Test]
    public void OnAbandoned_ProbeFromEarlierHalfOpenPeriod_DoesNotFreeCurrentSlot()
    {
        var (breaker, slowProbe) = SecondHalfOpenPeriodWithStaleProbe();
        Assert.That(breaker.TryAdmit(out _), Is.True);
        Assert.That(breaker.TryAdmit(out _), Is.True);

        breaker.OnAbandoned(slowProbe);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.ProbesInFlight, Is.EqualTo(2));
            Assert.That(breaker.TryAdmit(out _), Is.False, "both slots of the current period are still taken");
        });
    }

    [Test]
    public void TryAdmit_ResetLandsWhileAdmitting_AdmitsOrdinaryRequestOfTheClosedCircuit()
    {
        var time = new InterleavingTimeProvider();
        var breaker = Create(time, failureThreshold: 2);
        Trip(breaker, 2);
        time.Fake.Advance(RecoveryTimeout);

        // Another thread's admin reset lands after this TryAdmit has seen the circuit open, at its next clock read.
        time.OnNextTimestamp = breaker.Reset;
        var admitted = breaker.TryAdmit(out var permit);

        Assert.Multiple(() =>
        {
            Assert.That(time.OnNextTimestamp, Is.Null, "the reset must have landed inside TryAdmit");
            Assert.That(admitted, Is.True, "a closed circuit admits");
            Assert.That(permit.IsProbe, Is.False, "a closed circuit hands out ordinary permits, not probes");
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ProbesInFlight, Is.Zero);
        });

        breaker.OnFailure(permit);
        Assert.That(breaker.ConsecutiveFailures, Is.EqualTo(1), "the permit belongs to the closed period after the reset, so its failure counts");
    }

    [Test]
    public void ApplyRemoteOpen_TimeLeftFarInThePast_NextRequestFindsHalfOpen()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time);

        // A remote trip whose time left is absurdly negative (clock skew, a corrupt record) is "zero or less".
        Assert.DoesNotThrow(() => breaker.ApplyRemoteOpen(TimeSpan.MinValue));

        Assert.Multiple(() =>
        {
            Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.Zero));
            Assert.That(breaker.TryAdmit(out var probe), Is.True);
            Assert.That(probe.IsProbe, Is.True);
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen));
        });
    }

    private static CircuitBreaker Create(TimeProvider time, int failureThreshold = 1, int halfOpenRequests = 1) =>
        new(new CircuitBreakerOptions { FailureThreshold = failureThreshold, RecoveryTimeout = RecoveryTimeout, HalfOpenRequests = halfOpenRequests }, time);

    /// <summary>
    /// A breaker (two probe slots) in its second half-open period with no probe admitted yet, and a probe of
    /// the first period still out: the other first-period probe failed and re-opened the circuit.
    /// </summary>
    private static (CircuitBreaker Breaker, CircuitPermit StaleProbe) SecondHalfOpenPeriodWithStaleProbe()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, halfOpenRequests: 2);
        Trip(breaker);
        time.Advance(RecoveryTimeout);
        Assert.That(breaker.TryAdmit(out var staleProbe), Is.True);
        Assert.That(breaker.TryAdmit(out var failingProbe), Is.True);
        breaker.OnFailure(failingProbe); // re-opens
        time.Advance(RecoveryTimeout);   // the next half-open period
        return (breaker, staleProbe);
    }

    private static void Trip(CircuitBreaker breaker, int failures = 1)
    {
        for (var i = 0; i < failures; i++)
        {
            Assert.That(breaker.TryAdmit(out var permit), Is.True);
            breaker.OnFailure(permit);
        }

        Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
    }

    /// <summary>A fake clock that runs an action once, at its next timestamp read, to place another thread's call at that exact point.</summary>
    private sealed class InterleavingTimeProvider : TimeProvider
    {
        public FakeTimeProvider Fake { get; } = new();

        public Action? OnNextTimestamp { get; set; }

        public override long TimestampFrequency => Fake.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

        public override long GetTimestamp()
        {
            var action = OnNextTimestamp;
            OnNextTimestamp = null;
            action?.Invoke();
            return Fake.GetTimestamp();
        }
    }
}
