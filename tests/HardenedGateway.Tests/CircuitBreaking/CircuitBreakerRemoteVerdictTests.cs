using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.CircuitBreaking;

/// <summary>The seam a shared breaker (CL-004) uses: apply another replica's verdict, told apart from local transitions.</summary>
[TestFixture]
public sealed class CircuitBreakerRemoteVerdictTests
{
    private readonly FakeTimeProvider _time = new();

    [Test]
    public void ApplyRemoteOpen_ClosedBreaker_OpensForTheTimeLeftThenHalfOpens()
    {
        var breaker = Create(recovery: TimeSpan.FromSeconds(30));
        var changes = Record(breaker);

        breaker.ApplyRemoteOpen(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
            Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(breaker.TryAdmit(out _), Is.False);
            Assert.That(changes, Has.Count.EqualTo(1));
            Assert.That(changes[0].NewState, Is.EqualTo(CircuitState.Open));
            Assert.That(changes[0].IsRemote, Is.True);
        });

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen));
            Assert.That(changes[^1].IsRemote, Is.False, "half-open comes from this breaker's own clock");
        });
    }

    [TestCase(-1, 0)]
    [TestCase(0, 0)]
    [TestCase(3600, 30)]
    public void ApplyRemoteOpen_TimeLeftOutsideRecovery_IsClamped(int timeLeftSeconds, int expectedSeconds)
    {
        var breaker = Create(recovery: TimeSpan.FromSeconds(30));

        breaker.ApplyRemoteOpen(TimeSpan.FromSeconds(timeLeftSeconds));

        Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(expectedSeconds)));
    }

    [Test]
    public void ApplyRemoteOpen_InFlightRequestFromBefore_NoLongerCounts()
    {
        var breaker = Create(recovery: TimeSpan.FromSeconds(1), halfOpen: 1);
        Assert.That(breaker.TryAdmit(out var before), Is.True);

        breaker.ApplyRemoteOpen(TimeSpan.Zero);
        breaker.OnFailure(before);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen), "a failure admitted before the remote verdict does not re-open");
            Assert.That(breaker.TryAdmit(out var probe), Is.True);
            Assert.That(probe.IsProbe, Is.True);
        });
    }

    [Test]
    public void ApplyRemoteClose_OpenBreaker_ClosesAsRemote()
    {
        var breaker = Create(recovery: TimeSpan.FromSeconds(30));
        Assert.That(breaker.TryAdmit(out var permit), Is.True);
        breaker.OnFailure(permit);
        var changes = Record(breaker);

        breaker.ApplyRemoteClose();

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(changes.Single().IsRemote, Is.True);
            Assert.That(changes.Single().PreviousState, Is.EqualTo(CircuitState.Open));
        });
    }

    [Test]
    public void ApplyRemoteClose_ClosedBreaker_RaisesNothing()
    {
        var breaker = Create(recovery: TimeSpan.FromSeconds(30));
        var changes = Record(breaker);

        breaker.ApplyRemoteClose();

        Assert.That(changes, Is.Empty);
    }

    [Test]
    public void StateChanged_LocalTrip_IsNotRemote()
    {
        var breaker = Create(recovery: TimeSpan.FromSeconds(30));
        var changes = Record(breaker);
        Assert.That(breaker.TryAdmit(out var permit), Is.True);

        breaker.OnFailure(permit);

        Assert.That(changes.Single().IsRemote, Is.False);
    }

    private static List<CircuitStateChangedEventArgs> Record(CircuitBreaker breaker)
    {
        var changes = new List<CircuitStateChangedEventArgs>();
        breaker.StateChanged += (_, change) => changes.Add(change);
        return changes;
    }

    private CircuitBreaker Create(TimeSpan recovery, int halfOpen = 1) =>
        new(new CircuitBreakerOptions { Enabled = true, FailureThreshold = 1, RecoveryTimeout = recovery, HalfOpenRequests = halfOpen }, _time);
}
