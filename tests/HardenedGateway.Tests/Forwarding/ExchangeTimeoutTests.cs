using HardenedGateway.Forwarding;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Forwarding;

[TestFixture]
public sealed class ExchangeTimeoutTests
{
    private static readonly TimeSpan Header = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(200);

    [Test]
    public void NoBody_HeaderTimeoutElapses_Fires()
    {
        var clock = new FakeTimeProvider();
        using var timeout = new ExchangeTimeout(Header, TimeSpan.Zero, clock, hasRequestBody: false);

        clock.Advance(Header - TimeSpan.FromTicks(1));
        Assert.That(timeout.HasFired, Is.False);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.That(timeout.HasFired, Is.True);
    }

    [Test]
    public void HeaderTimeoutZero_NeverFiresWhileWaitingForHeaders()
    {
        var clock = new FakeTimeProvider();
        using var timeout = new ExchangeTimeout(TimeSpan.Zero, TimeSpan.Zero, clock, hasRequestBody: true);

        timeout.OnActivity();
        timeout.OnRequestSent();
        clock.Advance(TimeSpan.FromDays(1));

        Assert.That(timeout.HasFired, Is.False);
    }

    [Test]
    public void Upload_HeaderTimeoutCountsFromEndOfBody()
    {
        var clock = new FakeTimeProvider();
        using var timeout = new ExchangeTimeout(Header, TimeSpan.Zero, clock, hasRequestBody: true);

        for (var i = 0; i < 5; i++)
        {
            timeout.OnActivity();
            clock.Advance(Header - TimeSpan.FromMilliseconds(1));
        }

        Assert.That(timeout.HasFired, Is.False, "a slow but moving upload is bounded only by silence");
        timeout.OnRequestSent();
        clock.Advance(Header - TimeSpan.FromTicks(1));
        Assert.That(timeout.HasFired, Is.False);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.That(timeout.HasFired, Is.True);
    }

    [Test]
    public void Upload_SilentLongerThanHeaderTimeout_Fires()
    {
        var clock = new FakeTimeProvider();
        using var timeout = new ExchangeTimeout(Header, TimeSpan.Zero, clock, hasRequestBody: true);

        timeout.OnActivity();
        clock.Advance(Header);

        Assert.That(timeout.HasFired, Is.True);
    }

    [Test]
    public void ResponseStartedBeforeUploadEnds_LateUploadNeverArmsHeaderTimeout()
    {
        // HTTP/2: the upstream answers while the request body is still streaming.
        var clock = new FakeTimeProvider();
        using var timeout = new ExchangeTimeout(Header, TimeSpan.Zero, clock, hasRequestBody: true);
        timeout.OnActivity();

        timeout.OnResponseStarted();
        for (var i = 0; i < 5; i++)
        {
            timeout.OnActivity();
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        timeout.OnRequestSent();
        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.That(timeout.HasFired, Is.False, "once the response started, the header timeout is over");
    }

    [Test]
    public void Body_IdleTimeoutRestartsOnEveryActivityAndFiresOnSilence()
    {
        var clock = new FakeTimeProvider();
        using var timeout = new ExchangeTimeout(Header, Idle, clock, hasRequestBody: false);
        timeout.OnResponseStarted();

        for (var i = 0; i < 10; i++)
        {
            clock.Advance(Idle - TimeSpan.FromMilliseconds(1));
            timeout.OnActivity();
        }

        Assert.That(timeout.HasFired, Is.False, "a slow but alive stream is never cut");
        clock.Advance(Idle);
        Assert.That(timeout.HasFired, Is.True);
    }

    [Test]
    public void Body_WithoutIdleTimeout_NeverFires()
    {
        var clock = new FakeTimeProvider();
        using var timeout = new ExchangeTimeout(Header, TimeSpan.Zero, clock, hasRequestBody: false);

        timeout.OnResponseStarted();
        clock.Advance(TimeSpan.FromDays(1));

        Assert.That(timeout.HasFired, Is.False);
    }

    [Test]
    public void Cancel_FiresAtOnce()
    {
        using var timeout = new ExchangeTimeout(TimeSpan.Zero, TimeSpan.Zero, new FakeTimeProvider(), hasRequestBody: false);

        timeout.Cancel();

        Assert.That(timeout.HasFired, Is.True);
    }

    [Test]
    public void AfterDispose_LateUploadCallbacksDoNotThrow()
    {
        var timeout = new ExchangeTimeout(Header, Idle, new FakeTimeProvider(), hasRequestBody: true);
        timeout.Dispose();

        Assert.Multiple(() =>
        {
            Assert.That(timeout.OnActivity, Throws.Nothing);
            Assert.That(timeout.OnRequestSent, Throws.Nothing);
            Assert.That(timeout.OnResponseStarted, Throws.Nothing);
        });
    }
}
