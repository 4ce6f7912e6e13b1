using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.CircuitBreaking;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class CircuitBreakerTests
{
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WaitBound = TimeSpan.FromSeconds(10);

    [Test]
    public void Constructor_NewBreaker_IsClosed()
    {
        var breaker = Create(new FakeTimeProvider());

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
            Assert.That(breaker.ProbesInFlight, Is.Zero);
            Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.Zero));
            Assert.That(breaker.TryAdmit(out var permit), Is.True);
            Assert.That(permit.IsProbe, Is.False);
        });
    }

    [Test]
    public void OnFailure_BelowThreshold_StaysClosedAndCounts()
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 5);

        FailTimes(breaker, 4);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.EqualTo(4));
            Assert.That(breaker.TryAdmit(out _), Is.True);
        });
    }

    [TestCase(1)]
    [TestCase(5)]
    public void OnFailure_ThresholdConsecutiveFailures_Opens(int threshold)
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: threshold);

        FailTimes(breaker, threshold);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
            Assert.That(breaker.RetryAfter, Is.EqualTo(RecoveryTimeout));
        });
    }

    [Test]
    public void OnSuccess_BetweenFailures_ResetsConsecutiveCount()
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 5);
        FailTimes(breaker, 4);

        breaker.TryAdmit(out var permit);
        breaker.OnSuccess(permit);
        var afterSuccess = breaker.ConsecutiveFailures;
        FailTimes(breaker, 4);
        var stateAfterFourMore = breaker.State;
        FailTimes(breaker, 1);

        Assert.Multiple(() =>
        {
            Assert.That(afterSuccess, Is.Zero);
            Assert.That(stateAfterFourMore, Is.EqualTo(CircuitState.Closed), "the success must have reset the count");
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
        });
    }

    [Test]
    public void OnSuccess_NoFailuresCounted_StaysClosed()
    {
        var breaker = Create(new FakeTimeProvider());
        breaker.TryAdmit(out var permit);

        breaker.OnSuccess(permit);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
        });
    }

    [Test]
    public void TryAdmit_Open_Rejects()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        FailTimes(breaker, 1);
        time.Advance(RecoveryTimeout - TimeSpan.FromTicks(1));

        var admitted = breaker.TryAdmit(out var permit);

        Assert.Multiple(() =>
        {
            Assert.That(admitted, Is.False);
            Assert.That(permit, Is.EqualTo(default(CircuitPermit)));
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
        });
    }

    [Test]
    public void State_RecoveryTimeoutPassed_ReportsHalfOpen()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        FailTimes(breaker, 1);

        time.Advance(RecoveryTimeout - TimeSpan.FromTicks(1));
        var justBefore = breaker.State;
        time.Advance(TimeSpan.FromTicks(1));

        Assert.Multiple(() =>
        {
            Assert.That(justBefore, Is.EqualTo(CircuitState.Open));
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen));
            Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.Zero));
        });
    }

    [Test]
    public void TryAdmit_RecoveryTimeoutPassed_AdmitsExactlyOneProbe()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        FailTimes(breaker, 1);
        time.Advance(RecoveryTimeout);

        var first = breaker.TryAdmit(out var probe);
        var second = breaker.TryAdmit(out _);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.True);
            Assert.That(probe.IsProbe, Is.True);
            Assert.That(second, Is.False, "HalfOpenRequests = 1 admits one probe at a time");
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen));
            Assert.That(breaker.ProbesInFlight, Is.EqualTo(1));
        });
    }

    [Test]
    public void OnSuccess_Probe_Closes()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 2);
        var probe = OpenAndAdmitProbe(breaker, time, 2);

        breaker.OnSuccess(probe);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
            Assert.That(breaker.ProbesInFlight, Is.Zero);
            Assert.That(breaker.TryAdmit(out var next), Is.True);
            Assert.That(next.IsProbe, Is.False);
        });

        // A closed circuit counts from zero again.
        FailTimes(breaker, 1);
        Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
    }

    [Test]
    public void OnFailure_Probe_ReopensForAnotherRecoveryTimeout()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        var probe = OpenAndAdmitProbe(breaker, time, 1);
        time.Advance(TimeSpan.FromSeconds(3));

        breaker.OnFailure(probe);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
            Assert.That(breaker.RetryAfter, Is.EqualTo(RecoveryTimeout), "the recovery timeout restarts at the probe failure");
            Assert.That(breaker.TryAdmit(out _), Is.False);
            Assert.That(breaker.ProbesInFlight, Is.Zero);
        });

        time.Advance(RecoveryTimeout);
        Assert.That(breaker.TryAdmit(out var nextProbe), Is.True);
        Assert.That(nextProbe.IsProbe, Is.True);
    }

    [Test]
    public void OnAbandoned_Probe_FreesProbeSlot()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        var probe = OpenAndAdmitProbe(breaker, time, 1);
        Assert.That(breaker.TryAdmit(out _), Is.False);

        breaker.OnAbandoned(probe);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen), "an abandoned probe decides nothing");
            Assert.That(breaker.ProbesInFlight, Is.Zero);
            Assert.That(breaker.TryAdmit(out var next), Is.True);
            Assert.That(next.IsProbe, Is.True);
        });
    }

    [Test]
    public void OnAbandoned_ProbeTwice_DoesNotFreeAnotherProbesSlot()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1, halfOpenRequests: 2);
        var first = OpenAndAdmitProbe(breaker, time, 1);
        breaker.OnAbandoned(first);

        breaker.OnAbandoned(first);

        Assert.That(breaker.ProbesInFlight, Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(breaker.TryAdmit(out _), Is.True);
            Assert.That(breaker.TryAdmit(out _), Is.True);
            Assert.That(breaker.TryAdmit(out _), Is.False);
        });
    }

    [Test]
    public void OnAbandoned_NonProbe_ChangesNothing()
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 3);
        FailTimes(breaker, 2);
        breaker.TryAdmit(out var permit);

        breaker.OnAbandoned(permit);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.EqualTo(2));
        });
    }

    [Test]
    public void OnFailure_PermitFromBeforeOpen_IsIgnored()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 2);
        breaker.TryAdmit(out var slowFailure);
        breaker.TryAdmit(out var slowSuccess);
        FailTimes(breaker, 2);
        time.Advance(RecoveryTimeout);
        breaker.TryAdmit(out var probe);

        // The slow requests admitted while closed finish now, while the circuit is half-open.
        breaker.OnFailure(slowFailure);
        breaker.OnSuccess(slowSuccess);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen), "neither stale outcome may decide the probe");
            Assert.That(breaker.ProbesInFlight, Is.EqualTo(1));
        });

        breaker.OnSuccess(probe);
        breaker.OnFailure(slowFailure);
        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.Zero, "a failure from an earlier closed period is not counted");
        });
    }

    [Test]
    public void OnFailure_PermitFromBeforeReset_IsIgnored()
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 2);
        var stale = new CircuitPermit[3];
        for (var i = 0; i < stale.Length; i++)
        {
            breaker.TryAdmit(out stale[i]);
        }

        breaker.Reset();
        foreach (var permit in stale)
        {
            breaker.OnFailure(permit);
        }

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
        });
    }

    [Test]
    public void OnSuccess_PermitFromBeforeReset_DoesNotClearNewFailures()
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 3);
        breaker.TryAdmit(out var stale);
        breaker.Reset();
        FailTimes(breaker, 2);

        breaker.OnSuccess(stale);
        FailTimes(breaker, 1);

        Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
    }

    [Test]
    public void OnFailure_PermitFromBeforeOpenAfterReopen_IsIgnored()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        breaker.TryAdmit(out var stale);
        FailTimes(breaker, 1);
        time.Advance(TimeSpan.FromSeconds(5));

        breaker.OnFailure(stale);
        breaker.OnSuccess(stale);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
            Assert.That(breaker.RetryAfter, Is.EqualTo(RecoveryTimeout - TimeSpan.FromSeconds(5)), "a stale failure must not restart the open period");
        });
    }

    [Test]
    public void ProbeOutcome_AfterAnotherProbeDecided_IsIgnored()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1, halfOpenRequests: 3);
        var first = OpenAndAdmitProbe(breaker, time, 1);
        breaker.TryAdmit(out var second);
        breaker.TryAdmit(out var third);

        breaker.OnSuccess(first);
        breaker.OnFailure(second);
        breaker.OnAbandoned(third);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
            Assert.That(breaker.ProbesInFlight, Is.Zero);
        });
    }

    [Test]
    public void ProbeSuccess_AfterAnotherProbeFailed_IsIgnored()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1, halfOpenRequests: 2);
        var first = OpenAndAdmitProbe(breaker, time, 1);
        breaker.TryAdmit(out var second);

        breaker.OnFailure(first);
        breaker.OnSuccess(second);

        Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
    }

    [Test]
    public void Reset_Open_ClosesAndAdmits()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        FailTimes(breaker, 1);
        var events = Record(breaker);

        breaker.Reset();

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.Zero));
            Assert.That(breaker.TryAdmit(out var permit), Is.True);
            Assert.That(permit.IsProbe, Is.False);
            Assert.That(events, Is.EqualTo(new[] { (CircuitState.Open, CircuitState.Closed) }));
        });
    }

    [Test]
    public void Reset_HalfOpen_ClosesAndForgetsProbes()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        var probe = OpenAndAdmitProbe(breaker, time, 1);

        breaker.Reset();
        breaker.OnFailure(probe);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.ProbesInFlight, Is.Zero);
        });
    }

    [Test]
    public void Reset_Closed_ClearsFailuresWithoutEvent()
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 5);
        FailTimes(breaker, 3);
        var events = Record(breaker);

        breaker.Reset();

        Assert.Multiple(() =>
        {
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(events, Is.Empty);
        });
    }

    [Test]
    public void RetryAfter_Open_CountsDown()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1);
        FailTimes(breaker, 1);

        var atOpen = breaker.RetryAfter;
        time.Advance(TimeSpan.FromSeconds(10));
        var afterTen = breaker.RetryAfter;
        time.Advance(TimeSpan.FromSeconds(19.5));
        var halfSecondLeft = breaker.RetryAfter;
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(atOpen, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(afterTen, Is.EqualTo(TimeSpan.FromSeconds(20)));
            Assert.That(halfSecondLeft, Is.EqualTo(TimeSpan.FromSeconds(0.5)));
            Assert.That(breaker.RetryAfter, Is.EqualTo(TimeSpan.Zero), "never negative once the timeout has passed");
        });
    }

    [Test]
    public void StateChanged_FullCycle_RaisedWithPreviousAndNewState()
    {
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 2);
        var senders = new List<object?>();
        var events = new List<(CircuitState, CircuitState)>();
        breaker.StateChanged += (sender, args) =>
        {
            senders.Add(sender);
            events.Add((args.PreviousState, args.NewState));
        };

        FailTimes(breaker, 2);                      // closed -> open
        time.Advance(RecoveryTimeout);
        _ = breaker.State;                          // open -> half-open (observed through State)
        breaker.TryAdmit(out var probe);
        breaker.OnFailure(probe);                   // half-open -> open
        time.Advance(RecoveryTimeout);
        breaker.TryAdmit(out probe);                // open -> half-open (observed through TryAdmit)
        breaker.OnSuccess(probe);                   // half-open -> closed
        FailTimes(breaker, 2);                      // closed -> open
        breaker.Reset();                            // open -> closed

        Assert.Multiple(() =>
        {
            Assert.That(events, Is.EqualTo(new[]
            {
                (CircuitState.Closed, CircuitState.Open),
                (CircuitState.Open, CircuitState.HalfOpen),
                (CircuitState.HalfOpen, CircuitState.Open),
                (CircuitState.Open, CircuitState.HalfOpen),
                (CircuitState.HalfOpen, CircuitState.Closed),
                (CircuitState.Closed, CircuitState.Open),
                (CircuitState.Open, CircuitState.Closed),
            }));
            Assert.That(senders, Is.All.SameAs(breaker));
        });
    }

    [Test]
    public void StateChanged_HandlerReadsState_SeesNewStateWithoutDeadlock()
    {
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 1);
        CircuitState? seenInHandler = null;
        breaker.StateChanged += (_, _) => seenInHandler = breaker.State;

        FailTimes(breaker, 1);

        Assert.That(seenInHandler, Is.EqualTo(CircuitState.Open));
    }

    [TestCase(1)]
    [TestCase(3)]
    public async Task TryAdmit_500ConcurrentCallersWhenHalfOpen_AdmitsExactlyHalfOpenRequests(int halfOpenRequests)
    {
        const int Callers = 500;
        var time = new FakeTimeProvider();
        var breaker = Create(time, failureThreshold: 1, halfOpenRequests: halfOpenRequests);
        FailTimes(breaker, 1);
        time.Advance(RecoveryTimeout); // due for half-open: the racing callers also race the transition
        var transitions = new ConcurrentQueue<(CircuitState, CircuitState)>();
        breaker.StateChanged += (_, args) => transitions.Enqueue((args.PreviousState, args.NewState));
        var admitted = new ConcurrentQueue<CircuitPermit>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            await gate.Task.ConfigureAwait(false);
            if (breaker.TryAdmit(out var permit))
            {
                admitted.Enqueue(permit);
            }
        })).ToArray();

        gate.SetResult();
        await Task.WhenAll(callers).WaitAsync(WaitBound);

        Assert.Multiple(() =>
        {
            Assert.That(admitted, Has.Count.EqualTo(halfOpenRequests));
            Assert.That(admitted.Select(p => p.IsProbe), Is.All.True);
            Assert.That(breaker.ProbesInFlight, Is.EqualTo(halfOpenRequests));
            Assert.That(transitions, Is.EqualTo(new[] { (CircuitState.Open, CircuitState.HalfOpen) }));
        });
    }

    [Test]
    public async Task OnFailure_ManyConcurrentFailuresAtThreshold_OpensOnce()
    {
        const int Callers = 200;
        var breaker = Create(new FakeTimeProvider(), failureThreshold: 5);
        var permits = new CircuitPermit[Callers];
        for (var i = 0; i < Callers; i++)
        {
            breaker.TryAdmit(out permits[i]);
        }

        var transitions = new ConcurrentQueue<(CircuitState, CircuitState)>();
        breaker.StateChanged += (_, args) => transitions.Enqueue((args.PreviousState, args.NewState));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = permits.Select(permit => Task.Run(async () =>
        {
            await gate.Task.ConfigureAwait(false);
            breaker.OnFailure(permit);
        })).ToArray();

        gate.SetResult();
        await Task.WhenAll(callers).WaitAsync(WaitBound);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
            Assert.That(transitions, Is.EqualTo(new[] { (CircuitState.Closed, CircuitState.Open) }));
        });
    }

    [Test]
    public void Constructor_NullOptions_Throws()
    {
        Assert.That(
            () => new CircuitBreaker(null!),
            Throws.ArgumentNullException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("options"));
    }

    [TestCase(0, 1, 1000, "FailureThreshold")]
    [TestCase(-1, 1, 1000, "FailureThreshold")]
    [TestCase(10_001, 1, 1000, "FailureThreshold")]
    [TestCase(5, 0, 1000, "HalfOpenRequests")]
    [TestCase(5, 1_001, 1000, "HalfOpenRequests")]
    [TestCase(5, 1, 0, "RecoveryTimeout")]
    [TestCase(5, 1, -1000, "RecoveryTimeout")]
    [TestCase(5, 1, 86_400_001, "RecoveryTimeout")]
    public void Constructor_OutOfRange_Throws(int failureThreshold, int halfOpenRequests, int recoveryMilliseconds, string paramName)
    {
        var options = new CircuitBreakerOptions
        {
            FailureThreshold = failureThreshold,
            HalfOpenRequests = halfOpenRequests,
            RecoveryTimeout = TimeSpan.FromMilliseconds(recoveryMilliseconds),
        };

        Assert.That(
            () => new CircuitBreaker(options),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property(nameof(ArgumentException.ParamName)).EqualTo(paramName));
    }

    [TestCase(1, 1, 1)]
    [TestCase(10_000, 1_000, 86_400_000)]
    public void Constructor_BoundaryValues_Accepted(int failureThreshold, int halfOpenRequests, int recoveryMilliseconds)
    {
        var options = new CircuitBreakerOptions
        {
            FailureThreshold = failureThreshold,
            HalfOpenRequests = halfOpenRequests,
            RecoveryTimeout = TimeSpan.FromMilliseconds(recoveryMilliseconds),
        };

        Assert.That(new CircuitBreaker(options).State, Is.EqualTo(CircuitState.Closed));
    }

    [Test]
    public void Constructor_OptionsChangedAfterwards_KeepsCopiedValues()
    {
        var options = new CircuitBreakerOptions { FailureThreshold = 2 };
        var breaker = new CircuitBreaker(options, new FakeTimeProvider());

        options.FailureThreshold = 100;
        FailTimes(breaker, 2);

        Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
    }

    [Test]
    public void Constructor_NoTimeProvider_UsesSystemClock()
    {
        var breaker = new CircuitBreaker(new CircuitBreakerOptions { FailureThreshold = 1, RecoveryTimeout = TimeSpan.FromHours(1) });

        FailTimes(breaker, 1);

        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
            Assert.That(breaker.RetryAfter, Is.GreaterThan(TimeSpan.FromMinutes(59)).And.LessThanOrEqualTo(TimeSpan.FromHours(1)));
        });
    }

    [Test]
    public void Options_Defaults_MatchTheContract()
    {
        var options = new CircuitBreakerOptions();

        Assert.Multiple(() =>
        {
            Assert.That(options.Enabled, Is.False);
            Assert.That(options.FailureThreshold, Is.EqualTo(5));
            Assert.That(options.RecoveryTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.HalfOpenRequests, Is.EqualTo(1));
        });
    }

    [Test]
    public void Options_Clone_IsEqualAndIndependent()
    {
        var options = new CircuitBreakerOptions { Enabled = true, FailureThreshold = 7, RecoveryTimeout = TimeSpan.FromSeconds(3), HalfOpenRequests = 2 };

        var clone = options.Clone();
        var sameBefore = clone.SameAs(options);
        clone.HalfOpenRequests = 3;

        Assert.Multiple(() =>
        {
            Assert.That(clone, Is.Not.SameAs(options));
            Assert.That(sameBefore, Is.True);
            Assert.That(clone.SameAs(options), Is.False);
            Assert.That(options.HalfOpenRequests, Is.EqualTo(2));
        });
    }

    [TestCase(nameof(CircuitBreakerOptions.Enabled))]
    [TestCase(nameof(CircuitBreakerOptions.FailureThreshold))]
    [TestCase(nameof(CircuitBreakerOptions.RecoveryTimeout))]
    [TestCase(nameof(CircuitBreakerOptions.HalfOpenRequests))]
    public void Options_SameAs_DetectsEachPropertyChange(string property)
    {
        var options = new CircuitBreakerOptions();
        var changed = options.Clone();

        switch (property)
        {
            case nameof(CircuitBreakerOptions.Enabled): changed.Enabled = true; break;
            case nameof(CircuitBreakerOptions.FailureThreshold): changed.FailureThreshold = 6; break;
            case nameof(CircuitBreakerOptions.RecoveryTimeout): changed.RecoveryTimeout = TimeSpan.FromSeconds(31); break;
            default: changed.HalfOpenRequests = 2; break;
        }

        Assert.That(changed.SameAs(options), Is.False);
    }

    [Test]
    public void StateChangedEventArgs_Constructor_KeepsStates()
    {
        var args = new CircuitStateChangedEventArgs(CircuitState.HalfOpen, CircuitState.Open);

        Assert.Multiple(() =>
        {
            Assert.That(args.PreviousState, Is.EqualTo(CircuitState.HalfOpen));
            Assert.That(args.NewState, Is.EqualTo(CircuitState.Open));
        });
    }

    [Test]
    public void CircuitState_NumericValues_MatchTheGauge()
    {
        Assert.Multiple(() =>
        {
            Assert.That((int)CircuitState.Closed, Is.Zero);
            Assert.That((int)CircuitState.Open, Is.EqualTo(1));
            Assert.That((int)CircuitState.HalfOpen, Is.EqualTo(2));
        });
    }

    private static CircuitBreaker Create(TimeProvider time, int failureThreshold = 5, int halfOpenRequests = 1) =>
        new(new CircuitBreakerOptions { FailureThreshold = failureThreshold, RecoveryTimeout = RecoveryTimeout, HalfOpenRequests = halfOpenRequests }, time);

    private static void FailTimes(CircuitBreaker breaker, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.That(breaker.TryAdmit(out var permit), Is.True, "a failure needs an admitted request");
            breaker.OnFailure(permit);
        }
    }

    private static CircuitPermit OpenAndAdmitProbe(CircuitBreaker breaker, FakeTimeProvider time, int failureThreshold)
    {
        FailTimes(breaker, failureThreshold);
        time.Advance(RecoveryTimeout);
        Assert.That(breaker.TryAdmit(out var probe), Is.True);
        Assert.That(probe.IsProbe, Is.True);
        return probe;
    }

    private static List<(CircuitState Previous, CircuitState New)> Record(CircuitBreaker breaker)
    {
        var events = new List<(CircuitState, CircuitState)>();
        breaker.StateChanged += (_, args) => events.Add((args.PreviousState, args.NewState));
        return events;
    }
}
