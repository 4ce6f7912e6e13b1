using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Limiting;

/// <summary>The limiter whose limit the controller moves: the same admission rules as a static limit (SC-005) at every limit.</summary>
[TestFixture]
public sealed class AdaptiveConcurrencyLimiterTests
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(50);

    [Test]
    public void Constructor_Adaptive_StartsAtInitialLimitAndReportsIt()
    {
        var limiter = Create(initial: 3);

        Assert.Multiple(() =>
        {
            Assert.That(limiter.IsEnabled, Is.True);
            Assert.That(limiter.IsAdaptive, Is.True);
            Assert.That(limiter.MaxConcurrent, Is.EqualTo(3));
            Assert.That(limiter.Available, Is.EqualTo(3));
            Assert.That(limiter.GetAdaptiveSnapshot()!.Limit, Is.EqualTo(3));
            Assert.That(new ConcurrencyLimiter(3).GetAdaptiveSnapshot(), Is.Null);
        });
    }

    [Test]
    public async Task OnResponseHeaders_LimitGrows_ServesQueuedWaitersAtOnce()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(initial: 2, time);
        Assert.That(limiter.TryAcquire() && limiter.TryAcquire(), Is.True);
        var waiter = limiter.AcquireAsync(TimeSpan.FromMinutes(1)).AsTask();
        Assert.That(waiter.IsCompleted, Is.False);

        // A window at the baseline with every slot in use: the limit grows, and the waiter gets the new slot.
        FeedWindow(time, limiter, Base);

        Assert.That(limiter.MaxConcurrent, Is.EqualTo(3));
        Assert.That(await waiter.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(limiter.InUse, Is.EqualTo(3));
    }

    [Test]
    public void OnUpstreamFailure_LimitBelowSlotsInUse_AdmitsNothingUntilEnoughAreBack()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(initial: 8, time);
        for (var i = 0; i < 8; i++)
        {
            Assert.That(limiter.TryAcquire(), Is.True);
        }

        limiter.OnUpstreamFailure(); // 8 -> 4 while 8 are held

        Assert.That(limiter.MaxConcurrent, Is.EqualTo(4));
        Assert.That(limiter.Available, Is.Zero);
        for (var i = 0; i < 4; i++)
        {
            limiter.Release();
            Assert.That(limiter.TryAcquire(), Is.False, "still at or above the new limit");
        }

        limiter.Release();
        Assert.That(limiter.TryAcquire(), Is.True, "below the new limit again");
        Assert.That(limiter.InUse, Is.EqualTo(4));
    }

    [TestCase(400)]
    [TestCase(404)]
    [TestCase(401)]
    [TestCase(429)]
    public void OnResponseHeaders_ClientErrorStatus_IsNeitherSampleNorFailure(int status)
    {
        var time = new FakeTimeProvider();
        var limiter = Create(initial: 4, time);
        limiter.TryAcquire();

        for (var i = 0; i < 100; i++)
        {
            var headersAt = time.GetTimestamp();
            limiter.OnResponseHeaders(headersAt - (long)(0.001 * time.TimestampFrequency), headersAt, status);
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.That(limiter.Adaptive!.WindowCount, Is.Zero);
        Assert.That(limiter.MaxConcurrent, Is.EqualTo(4));
    }

    [TestCase(500)]
    [TestCase(502)]
    [TestCase(503)]
    [TestCase(504)]
    public void OnResponseHeaders_FailureStatus_HalvesTheLimit(int status)
    {
        var time = new FakeTimeProvider();
        var limiter = Create(initial: 8, time);

        limiter.OnResponseHeaders(time.GetTimestamp(), time.GetTimestamp(), status);

        Assert.That(limiter.MaxConcurrent, Is.EqualTo(4));
    }

    [Test]
    public void StaticLimiter_SamplesAndFailures_ChangeNothing()
    {
        var limiter = new ConcurrencyLimiter(5);

        limiter.OnUpstreamFailure();
        limiter.OnResponseHeaders(0, 1_000_000, 500);

        Assert.That(limiter.MaxConcurrent, Is.EqualTo(5));
        Assert.That(limiter.IsAdaptive, Is.False);
    }

    private static ConcurrencyLimiter Create(int initial, FakeTimeProvider? time = null) =>
        new(new AdaptiveConcurrencyOptions { Enabled = true, MinLimit = 1, MaxLimit = 100, InitialLimit = initial }, time ?? new FakeTimeProvider());

    private static void FeedWindow(FakeTimeProvider time, ConcurrencyLimiter limiter, TimeSpan latency)
    {
        var windows = limiter.Adaptive!.WindowCount;
        time.Advance(latency);
        for (var i = 0; i < 100 && limiter.Adaptive.WindowCount == windows; i++)
        {
            var headersAt = time.GetTimestamp();
            limiter.OnResponseHeaders(headersAt - (long)(latency.TotalSeconds * time.TimestampFrequency), headersAt, 200);
            time.Advance(TimeSpan.FromMilliseconds(40));
        }
    }
}
