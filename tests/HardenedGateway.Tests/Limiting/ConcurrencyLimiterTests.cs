namespace HardenedGateway.Tests.Limiting;

[TestFixture]
public sealed class ConcurrencyLimiterTests
{
    [Test]
    public void TryAcquire_AtLimit_ReturnsFalse()
    {
        var limiter = new ConcurrencyLimiter(2);

        Assert.Multiple(() =>
        {
            Assert.That(limiter.TryAcquire(), Is.True);
            Assert.That(limiter.TryAcquire(), Is.True);
            Assert.That(limiter.TryAcquire(), Is.False);
            Assert.That(limiter.Available, Is.Zero);
        });
    }
}
