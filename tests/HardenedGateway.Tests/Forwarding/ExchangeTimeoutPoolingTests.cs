using HardenedGateway.Forwarding;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Forwarding;

[TestFixture]
[NonParallelizable] // the pool is process-wide
public sealed class ExchangeTimeoutPoolingTests
{
    [Test]
    public void Rent_BodylessOnSystemClock_ReusesADisposedTimerWithFreshState()
    {
        var first = ExchangeTimeout.Rent(TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false);
        var firstToken = first.Token;
        first.Dispose();
        var pooledAfterDispose = ExchangeTimeout.PooledCount;

        using var second = ExchangeTimeout.Rent(TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false);

        Assert.Multiple(() =>
        {
            Assert.That(pooledAfterDispose, Is.GreaterThanOrEqualTo(1));
            Assert.That(ExchangeTimeout.PooledCount, Is.EqualTo(pooledAfterDispose - 1), "taken from the pool");
            Assert.That(second.HasFired, Is.False);
            Assert.That(firstToken.IsCancellationRequested, Is.False, "a returned timer is reset, never cancelled");
        });
    }

    [Test]
    public void Dispose_AfterTheTimerFired_IsNotPooled()
    {
        var timer = ExchangeTimeout.Rent(TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false);
        timer.Cancel();
        var before = ExchangeTimeout.PooledCount;

        timer.Dispose();

        Assert.That(ExchangeTimeout.PooledCount, Is.EqualTo(before));
    }

    [Test]
    public void Dispose_WithRequestBodyOrFakeClock_IsNeverPooled()
    {
        var before = ExchangeTimeout.PooledCount;

        ExchangeTimeout.Rent(TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeProvider.System, hasRequestBody: true).Dispose();
        ExchangeTimeout.Rent(TimeSpan.FromSeconds(30), TimeSpan.Zero, new FakeTimeProvider(), hasRequestBody: false).Dispose();

        Assert.That(ExchangeTimeout.PooledCount, Is.EqualTo(before));
    }

    [Test]
    public void Rent_FromPool_ArmsTheNewHeaderTimeout()
    {
        ExchangeTimeout.Rent(TimeSpan.FromHours(1), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false).Dispose();

        using var reused = ExchangeTimeout.Rent(TimeSpan.FromMilliseconds(1), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false);

        Assert.That(reused.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(10)), Is.True, "the 1 ms header timeout fires");
    }

    [Test]
    public void CancelWith_ClientAborts_FiresTheToken()
    {
        using var client = new CancellationTokenSource();
        using var timer = ExchangeTimeout.Rent(TimeSpan.FromHours(1), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false);
        timer.CancelWith(client.Token);

        client.Cancel();

        Assert.That(timer.HasFired, Is.True);
    }

    [Test]
    public void CancelWith_AfterDispose_AClientAbortNoLongerReachesTheReusedTimer()
    {
        using var client = new CancellationTokenSource();
        var first = ExchangeTimeout.Rent(TimeSpan.FromHours(1), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false);
        first.CancelWith(client.Token);
        first.Dispose();

        // Every timer in the pool, the returned one among them, is rented again before the old client aborts.
        var rented = new List<ExchangeTimeout>();
        while (ExchangeTimeout.PooledCount > 0)
        {
            rented.Add(ExchangeTimeout.Rent(TimeSpan.FromHours(1), TimeSpan.Zero, TimeProvider.System, hasRequestBody: false));
        }

        client.Cancel();

        Assert.Multiple(() =>
        {
            Assert.That(rented, Does.Contain(first), "the disposed timer went back to the pool");
            Assert.That(rented.TrueForAll(timer => !timer.HasFired), Is.True, "the first exchange's client is unlinked at dispose");
        });
        rented.ForEach(timer => timer.Dispose());
    }

    [TestCase("text/event-stream", true)]
    [TestCase("Text/Event-Stream; charset=utf-8", true)]
    [TestCase(" text/event-stream", true)]
    [TestCase("text/event-streamx", false)]
    [TestCase("application/json", false)]
    [TestCase("", false)]
    public void IsEventStream_ContentType_Detected(string contentType, bool expected) =>
        Assert.That(RequestForwarder.IsEventStream(contentType), Is.EqualTo(expected));
}
