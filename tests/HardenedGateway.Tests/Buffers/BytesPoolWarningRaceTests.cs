using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Buffers;

/// <summary>The pool-exhaustion warning when two exhaustions of a new interval race to log it.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class BytesPoolWarningRaceTests
{
    [Test]
    public void Rent_AnotherExhaustionLogsTheIntervalsWarningFirst_LogsOneWarning()
    {
        var time = new InterleavingTimeProvider();
        var logger = new FakeLogger<BytesPool>();
        var pool = new BytesPool(maxBuffers: 1, logger, time);
        pool.Rent();
        pool.Rent();                                     // fallback 1: the first warning
        time.Fake.Advance(BytesPool.FallbackWarningInterval);

        // This exhaustion has read the last warning's time; another one warns for the new interval before it
        // claims the warning (the clock's frequency is read while comparing the two times).
        time.OnNextFrequencyRead = () => pool.Rent();
        pool.Rent();

        var records = logger.Collector.GetSnapshot();
        Assert.Multiple(() =>
        {
            Assert.That(time.OnNextFrequencyRead, Is.Null, "the other exhaustion must have run inside the first");
            Assert.That(pool.FallbackCount, Is.EqualTo(3));
            Assert.That(records, Has.Count.EqualTo(2), "one warning for each interval, even when two exhaustions race for the second");
            Assert.That(records[^1].GetStructuredStateValue("FallbacksSinceLastWarning"), Is.EqualTo("2"));
            Assert.That(records[^1].GetStructuredStateValue("FallbacksTotal"), Is.EqualTo("3"));
        });
    }

    /// <summary>A fake clock that runs an action once, at its next frequency read, to place another thread's call at that exact point.</summary>
    private sealed class InterleavingTimeProvider : TimeProvider
    {
        public FakeTimeProvider Fake { get; } = new();

        public Action? OnNextFrequencyRead { get; set; }

        public override long TimestampFrequency
        {
            get
            {
                var action = OnNextFrequencyRead;
                OnNextFrequencyRead = null;
                action?.Invoke();
                return Fake.TimestampFrequency;
            }
        }

        public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

        public override long GetTimestamp() => Fake.GetTimestamp();
    }
}
