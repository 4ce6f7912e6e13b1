using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Buffers;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class BytesPoolTests
{
    private const int PoolExhaustedEventId = 30;

    [Test]
    public void Rent_Always_Returns32KiBBuffer()
    {
        var pool = new BytesPool();

        var buffer = pool.Rent();

        Assert.Multiple(() =>
        {
            Assert.That(BytesPool.BufferSize, Is.EqualTo(32 * 1024));
            Assert.That(buffer, Has.Length.EqualTo(32 * 1024));
        });
    }

    [Test]
    public void Constructor_Defaults_MatchTheContract()
    {
        var pool = new BytesPool();

        Assert.Multiple(() =>
        {
            Assert.That(pool.MaxBuffers, Is.EqualTo(BytesPool.DefaultMaxBuffers));
            Assert.That(BytesPool.DefaultMaxBuffers, Is.EqualTo(2048));
            Assert.That(BytesPool.FallbackWarningInterval, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(pool.RentCount, Is.Zero);
            Assert.That(pool.ReturnCount, Is.Zero);
            Assert.That(pool.FallbackCount, Is.Zero);
            Assert.That(pool.ForeignReturnCount, Is.Zero);
            Assert.That(pool.RetainedCount, Is.Zero);
            Assert.That(pool.OutstandingCount, Is.Zero);
        });
    }

    [TestCase(0)]
    [TestCase(-1)]
    public void Constructor_MaxBuffersBelowOne_Throws(int maxBuffers)
    {
        Assert.That(
            () => new BytesPool(maxBuffers),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property(nameof(ArgumentException.ParamName)).EqualTo("maxBuffers"));
    }

    [Test]
    public void Rent_AfterReturn_HandsOutSameBuffer()
    {
        var pool = new BytesPool();
        var first = pool.Rent();
        pool.Return(first);

        var second = pool.Rent();

        Assert.That(second, Is.SameAs(first));
    }

    [Test]
    public void RentReturn_WarmLoop_AllocatesNothing()
    {
        const int Cycles = 10_000;
        var pool = new BytesPool();
        for (var i = 0; i < 100; i++)
        {
            pool.Return(pool.Rent());
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Cycles; i++)
        {
            pool.Return(pool.Rent());
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Without reuse this loop would allocate 10,000 x 32 KiB = 320 MiB; the pooled steady state allocates
        // nothing. 1 KiB in all (a tenth of a byte per cycle) leaves room only for runtime noise.
        Assert.Multiple(() =>
        {
            Assert.That(allocated, Is.LessThan(1024));
            Assert.That(pool.FallbackCount, Is.Zero);
            Assert.That(pool.RentCount, Is.EqualTo(Cycles + 100));
        });
    }

    [Test]
    public void Rent_PoolExhausted_FallsBackToNewBuffer()
    {
        var pool = new BytesPool(maxBuffers: 2);
        var pooled = new[] { pool.Rent(), pool.Rent() };

        var fallback = pool.Rent();

        Assert.Multiple(() =>
        {
            Assert.That(fallback, Has.Length.EqualTo(BytesPool.BufferSize));
            Assert.That(fallback, Is.Not.SameAs(pooled[0]).And.Not.SameAs(pooled[1]));
            Assert.That(pool.FallbackCount, Is.EqualTo(1));
            Assert.That(pool.RentCount, Is.EqualTo(3));
            Assert.That(pool.OutstandingCount, Is.EqualTo(3));
        });
    }

    [Test]
    public void Rent_PoolExhausted_LogsRateLimitedWarning()
    {
        var time = new FakeTimeProvider();
        var logger = new FakeLogger<BytesPool>();
        var pool = new BytesPool(maxBuffers: 1, logger, time);
        pool.Rent();

        pool.Rent();                                            // fallback 1: warns
        var afterFirst = logger.Collector.Count;
        pool.Rent();                                            // fallback 2: within 10 s, silent
        time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        pool.Rent();                                            // fallback 3: still within 10 s, silent
        var beforeInterval = logger.Collector.Count;
        time.Advance(TimeSpan.FromTicks(1));
        pool.Rent();                                            // fallback 4: 10 s later, warns again

        var records = logger.Collector.GetSnapshot();
        Assert.Multiple(() =>
        {
            Assert.That(afterFirst, Is.EqualTo(1));
            Assert.That(beforeInterval, Is.EqualTo(1), "a second exhaustion within 10 s must log nothing");
            Assert.That(records, Has.Count.EqualTo(2));
            Assert.That(records.Select(r => r.Level), Is.All.EqualTo(LogLevel.Warning));
            Assert.That(records.Select(r => r.Id.Id), Is.All.EqualTo(PoolExhaustedEventId));
            Assert.That(records[0].GetStructuredStateValue("MaxBuffers"), Is.EqualTo("1"));
            Assert.That(records[0].GetStructuredStateValue("FallbacksSinceLastWarning"), Is.EqualTo("1"));
            Assert.That(records[1].GetStructuredStateValue("FallbacksSinceLastWarning"), Is.EqualTo("3"));
            Assert.That(records[1].GetStructuredStateValue("FallbacksTotal"), Is.EqualTo("4"));
            Assert.That(pool.FallbackCount, Is.EqualTo(4));
        });
    }

    [Test]
    public async Task Rent_ConcurrentExhaustionBurst_LogsOneWarning()
    {
        const int Threads = 8;
        const int FallbacksPerThread = 500;
        var logger = new FakeLogger<BytesPool>();
        var pool = new BytesPool(maxBuffers: 1, logger, new FakeTimeProvider()); // time stands still: one interval
        pool.Rent();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = Enumerable.Range(0, Threads).Select(_ => Task.Run(async () =>
        {
            await gate.Task.ConfigureAwait(false);
            for (var i = 0; i < FallbacksPerThread; i++)
            {
                pool.Rent();
            }
        })).ToArray();

        gate.SetResult();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(pool.FallbackCount, Is.EqualTo(Threads * FallbacksPerThread));
            Assert.That(logger.Collector.Count, Is.EqualTo(1), "a burst of exhaustions within one interval logs one warning");
        });
    }

    [Test]
    public void Rent_PoolExhaustedWarningDisabled_CountsWithoutLogging()
    {
        var logger = new FakeLogger<BytesPool>();
        logger.ControlLevel(LogLevel.Warning, enabled: false);
        var pool = new BytesPool(maxBuffers: 1, logger, new FakeTimeProvider());
        pool.Rent();

        pool.Rent();
        var whileDisabled = logger.Collector.Count;
        logger.ControlLevel(LogLevel.Warning, enabled: true);
        pool.Rent();

        Assert.Multiple(() =>
        {
            Assert.That(whileDisabled, Is.Zero);
            Assert.That(pool.FallbackCount, Is.EqualTo(2));
            Assert.That(logger.Collector.Count, Is.EqualTo(1), "a disabled level must not use up the interval's warning");
            Assert.That(logger.LatestRecord.GetStructuredStateValue("FallbacksSinceLastWarning"), Is.EqualTo("2"));
        });
    }

    [Test]
    public void Rent_PoolExhaustedWithoutLogger_StillFallsBack()
    {
        var pool = new BytesPool(maxBuffers: 1);
        pool.Rent();

        var fallback = pool.Rent();

        Assert.Multiple(() =>
        {
            Assert.That(fallback, Has.Length.EqualTo(BytesPool.BufferSize));
            Assert.That(pool.FallbackCount, Is.EqualTo(1));
        });
    }

    [TestCase(0)]
    [TestCase(100)]
    [TestCase(BytesPool.BufferSize - 1)]
    [TestCase(BytesPool.BufferSize + 1)]
    public void Return_WrongSize_IgnoredAndNeverHandedOut(int length)
    {
        var pool = new BytesPool(maxBuffers: 4);
        var foreign = new byte[length];

        pool.Return(foreign);
        var rented = Enumerable.Range(0, 4).Select(_ => pool.Rent()).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(pool.ForeignReturnCount, Is.EqualTo(1));
            Assert.That(pool.ReturnCount, Is.Zero);
            Assert.That(rented, Has.None.SameAs(foreign));
            Assert.That(rented.Select(b => b.Length), Is.All.EqualTo(BytesPool.BufferSize));
            Assert.That(pool.FallbackCount, Is.Zero);
        });
    }

    [Test]
    public void Return_Null_Throws()
    {
        var pool = new BytesPool();

        Assert.That(() => pool.Return(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void Return_MoreThanMaxBuffers_RetainsAtMostMaxBuffers()
    {
        var pool = new BytesPool(maxBuffers: 2);
        var rented = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToArray();

        foreach (var buffer in rented)
        {
            pool.Return(buffer);
        }

        Assert.Multiple(() =>
        {
            Assert.That(pool.RetainedCount, Is.EqualTo(2));
            Assert.That(pool.ReturnCount, Is.EqualTo(5));
            Assert.That(pool.OutstandingCount, Is.Zero);
            Assert.That(pool.FallbackCount, Is.EqualTo(3));
        });

        // Only the two retained buffers come back; the third rent has to fall back again.
        var again = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(again.Take(2).All(b => rented.Any(r => ReferenceEquals(r, b))), Is.True, "the retained buffers are reused");
            Assert.That(pool.FallbackCount, Is.EqualTo(4));
            Assert.That(pool.RetainedCount, Is.Zero);
        });
    }

    [Test]
    public void Counters_RentAndReturn_TrackOutstandingBuffers()
    {
        var pool = new BytesPool(maxBuffers: 8);

        var a = pool.Rent();
        var b = pool.Rent();
        var c = pool.Rent();
        pool.Return(b);
        var afterOneReturn = (pool.RentCount, pool.ReturnCount, pool.OutstandingCount, pool.RetainedCount);
        pool.Return(a);
        pool.Return(c);
        pool.Return(new byte[10]);

        Assert.Multiple(() =>
        {
            Assert.That(afterOneReturn, Is.EqualTo((3L, 1L, 2L, 1)));
            Assert.That(pool.RentCount, Is.EqualTo(3));
            Assert.That(pool.ReturnCount, Is.EqualTo(3));
            Assert.That(pool.OutstandingCount, Is.Zero);
            Assert.That(pool.RetainedCount, Is.EqualTo(3));
            Assert.That(pool.ForeignReturnCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task RentReturn_ParallelHolders_NeverShareABuffer()
    {
        const int Threads = 8;
        const int Cycles = 2_000;
        const int MaxBuffers = 4; // fewer than the holders, so pooled and fallback buffers both circulate
        var pool = new BytesPool(MaxBuffers);
        var held = new ConcurrentDictionary<byte[], int>(ReferenceEqualityComparer.Instance);
        var errors = new ConcurrentQueue<string>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var workers = Enumerable.Range(1, Threads).Select(id => Task.Factory.StartNew(
            () =>
            {
                gate.Task.Wait(TimeSpan.FromSeconds(10));
                for (var i = 0; i < Cycles; i++)
                {
                    var buffer = pool.Rent();
                    if (!held.TryAdd(buffer, id))
                    {
                        errors.Enqueue($"holder {id} got a buffer already held by {held.GetValueOrDefault(buffer)}");
                    }

                    var stamp = ((long)id << 32) | (uint)i;
                    BinaryPrimitives.WriteInt64LittleEndian(buffer, stamp);
                    BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(BytesPool.BufferSize - 8), stamp);
                    if (i % 8 == 0)
                    {
                        Thread.Yield();
                    }

                    if (BinaryPrimitives.ReadInt64LittleEndian(buffer) != stamp ||
                        BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(BytesPool.BufferSize - 8)) != stamp)
                    {
                        errors.Enqueue($"holder {id}'s buffer was written by another holder");
                    }

                    held.TryRemove(buffer, out _);
                    pool.Return(buffer);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        gate.SetResult();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Empty);
            Assert.That(pool.RentCount, Is.EqualTo(Threads * Cycles));
            Assert.That(pool.ReturnCount, Is.EqualTo(Threads * Cycles));
            Assert.That(pool.OutstandingCount, Is.Zero);
            Assert.That(pool.RetainedCount, Is.LessThanOrEqualTo(MaxBuffers));
        });
    }
}
