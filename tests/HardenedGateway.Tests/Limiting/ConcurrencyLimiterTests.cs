using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Limiting;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class ConcurrencyLimiterTests
{
    private static readonly TimeSpan WaitBound = TimeSpan.FromSeconds(10);

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

    [Test]
    public void TryAcquire_AfterRelease_ReturnsTrue()
    {
        var limiter = new ConcurrencyLimiter(1);
        Assert.That(limiter.TryAcquire(), Is.True);
        Assert.That(limiter.TryAcquire(), Is.False);

        limiter.Release();

        Assert.Multiple(() =>
        {
            Assert.That(limiter.Available, Is.EqualTo(1));
            Assert.That(limiter.TryAcquire(), Is.True);
        });
    }

    [Test]
    public void Counters_WhileHoldingSlots_ReportAvailableAndInUse()
    {
        var limiter = new ConcurrencyLimiter(5);

        limiter.TryAcquire();
        limiter.TryAcquire();

        Assert.Multiple(() =>
        {
            Assert.That(limiter.IsEnabled, Is.True);
            Assert.That(limiter.MaxConcurrent, Is.EqualTo(5));
            Assert.That(limiter.Available, Is.EqualTo(3));
            Assert.That(limiter.InUse, Is.EqualTo(2));
            Assert.That(limiter.QueueLength, Is.Zero);
        });
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(int.MinValue)]
    public async Task Constructor_MaxConcurrentZeroOrLess_AdmitsEverything(int maxConcurrent)
    {
        var limiter = new ConcurrencyLimiter(maxConcurrent);

        var admitted = 0;
        for (var i = 0; i < 10_000; i++)
        {
            admitted += limiter.TryAcquire() ? 1 : 0;
        }

        var pending = limiter.AcquireAsync(TimeSpan.Zero);
        var acquired = await pending;
        await limiter.AcquireAsync(CancellationToken.None);
        limiter.Release();

        Assert.Multiple(() =>
        {
            Assert.That(limiter.IsEnabled, Is.False);
            Assert.That(limiter.MaxConcurrent, Is.Zero);
            Assert.That(admitted, Is.EqualTo(10_000));
            Assert.That(pending.IsCompletedSuccessfully, Is.True, "a disabled limiter never waits");
            Assert.That(acquired, Is.True);
            Assert.That(limiter.Available, Is.EqualTo(int.MaxValue));
            Assert.That(limiter.InUse, Is.Zero);
            Assert.That(limiter.QueueLength, Is.Zero);
        });
    }

    [Test]
    public async Task AcquireAsync_SlotFree_CompletesSynchronously()
    {
        var limiter = new ConcurrencyLimiter(1);

        var pending = limiter.AcquireAsync(TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(pending.IsCompletedSuccessfully, Is.True);
            Assert.That(limiter.Available, Is.Zero);
        });
        Assert.That(await pending, Is.True);
    }

    [Test]
    public async Task AcquireAsync_ZeroTimeoutAtLimit_ReturnsFalseWithoutQueueing()
    {
        var limiter = new ConcurrencyLimiter(1);
        limiter.TryAcquire();

        var pending = limiter.AcquireAsync(TimeSpan.Zero);

        Assert.Multiple(() =>
        {
            Assert.That(pending.IsCompletedSuccessfully, Is.True);
            Assert.That(limiter.QueueLength, Is.Zero);
        });
        Assert.That(await pending, Is.False);
    }

    [Test]
    public async Task AcquireAsync_TimeoutElapses_ReturnsFalse()
    {
        var time = new FakeTimeProvider();
        var limiter = new ConcurrencyLimiter(1, time);
        limiter.TryAcquire();

        var waiting = limiter.AcquireAsync(TimeSpan.FromSeconds(5)).AsTask();
        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));

        Assert.Multiple(() =>
        {
            Assert.That(waiting.IsCompleted, Is.False, "the wait ended before its timeout");
            Assert.That(limiter.QueueLength, Is.EqualTo(1));
        });

        time.Advance(TimeSpan.FromTicks(1));
        var acquired = await waiting.WaitAsync(WaitBound);

        Assert.Multiple(() =>
        {
            Assert.That(acquired, Is.False);
            Assert.That(limiter.QueueLength, Is.Zero);
            Assert.That(limiter.Available, Is.Zero, "the first holder still has the only slot");
        });

        limiter.Release();
        Assert.That(limiter.Available, Is.EqualTo(1), "a timed-out waiter holds nothing");
    }

    [Test]
    public async Task AcquireAsync_SlotReleasedWhileWaiting_ReturnsTrue()
    {
        var time = new FakeTimeProvider();
        var limiter = new ConcurrencyLimiter(1, time);
        limiter.TryAcquire();
        var waiting = limiter.AcquireAsync(TimeSpan.FromSeconds(5)).AsTask();
        time.Advance(TimeSpan.FromSeconds(2));

        limiter.Release();
        var acquired = await waiting.WaitAsync(WaitBound);

        // The timeout passing later must not take the slot back.
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(acquired, Is.True);
            Assert.That(limiter.QueueLength, Is.Zero);
            Assert.That(limiter.InUse, Is.EqualTo(1), "the slot was handed to the waiter");
            Assert.That(limiter.TryAcquire(), Is.False);
        });
    }

    [Test]
    public async Task AcquireAsync_InfiniteWaitSlotReleased_Completes()
    {
        var limiter = new ConcurrencyLimiter(1);
        limiter.TryAcquire();
        var waiting = limiter.AcquireAsync(CancellationToken.None).AsTask();
        Assert.That(waiting.IsCompleted, Is.False);

        limiter.Release();
        await waiting.WaitAsync(WaitBound);

        Assert.That(limiter.InUse, Is.EqualTo(1));
    }

    [Test]
    public async Task Release_SeveralWaiters_HandsSlotsOverFirstInFirstOut()
    {
        var time = new FakeTimeProvider();
        var limiter = new ConcurrencyLimiter(1, time);
        limiter.TryAcquire();
        var waiters = Enumerable.Range(0, 5)
            .Select(i => i % 2 == 0
                ? limiter.AcquireAsync(TimeSpan.FromMinutes(1)).AsTask()
                : limiter.AcquireAsync(Timeout.InfiniteTimeSpan).AsTask())
            .ToArray();
        Assert.That(limiter.QueueLength, Is.EqualTo(5));

        for (var served = 0; served < waiters.Length; served++)
        {
            limiter.Release();

            // The hand-off happens inside Release: exactly the oldest remaining waiter has the slot.
            var completed = waiters.Select(w => w.IsCompleted).ToArray();
            var expected = Enumerable.Range(0, waiters.Length).Select(i => i <= served).ToArray();
            Assert.That(completed, Is.EqualTo(expected), $"after release #{served + 1}");
            Assert.That(await waiters[served].WaitAsync(WaitBound), Is.True);
            Assert.That(limiter.QueueLength, Is.EqualTo(waiters.Length - served - 1));
        }

        limiter.Release();
        Assert.That(limiter.Available, Is.EqualTo(1));
    }

    [Test]
    public async Task AcquireAsync_WaiterInMiddleTimesOut_NextWaiterStillServedInOrder()
    {
        var time = new FakeTimeProvider();
        var limiter = new ConcurrencyLimiter(1, time);
        limiter.TryAcquire();
        var first = limiter.AcquireAsync(TimeSpan.FromMinutes(10)).AsTask();
        var impatient = limiter.AcquireAsync(TimeSpan.FromSeconds(1)).AsTask();
        var last = limiter.AcquireAsync(TimeSpan.FromMinutes(10)).AsTask();

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await impatient.WaitAsync(WaitBound), Is.False);

        limiter.Release();
        Assert.That(await first.WaitAsync(WaitBound), Is.True);
        Assert.That(last.IsCompleted, Is.False);

        limiter.Release();
        Assert.Multiple(() =>
        {
            Assert.That(last.IsCompleted, Is.True);
            Assert.That(limiter.QueueLength, Is.Zero);
        });
        Assert.That(await last.WaitAsync(WaitBound), Is.True);
    }

    [Test]
    public async Task AcquireAsync_CancelledWhileWaiting_ThrowsPromptlyAndLeavesQueue()
    {
        var time = new FakeTimeProvider();
        var limiter = new ConcurrencyLimiter(1, time);
        limiter.TryAcquire();
        using var cancellation = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(TimeSpan.FromHours(1), cancellation.Token).AsTask();
        Assert.That(limiter.QueueLength, Is.EqualTo(1));

        // No time passes: the wait ends because of the token alone.
        await cancellation.CancelAsync();

        var exception = Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), () => waiting.WaitAsync(WaitBound));
        Assert.Multiple(() =>
        {
            Assert.That(((OperationCanceledException)exception!).CancellationToken, Is.EqualTo(cancellation.Token));
            Assert.That(limiter.QueueLength, Is.Zero);
        });

        limiter.Release();
        Assert.That(limiter.Available, Is.EqualTo(1), "a cancelled waiter is never handed a slot");
    }

    [Test]
    public async Task AcquireAsync_TokenOverloadCancelledWhileWaiting_ThrowsAndLeavesQueue()
    {
        var limiter = new ConcurrencyLimiter(1);
        limiter.TryAcquire();
        using var cancellation = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(cancellation.Token).AsTask();

        await cancellation.CancelAsync();

        Assert.That(() => waiting.WaitAsync(WaitBound), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(limiter.QueueLength, Is.Zero);
    }

    [Test]
    public void AcquireAsync_AlreadyCancelled_ThrowsWithoutTakingFreeSlot()
    {
        var limiter = new ConcurrencyLimiter(1);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.Multiple(() =>
        {
            Assert.That(async () => await limiter.AcquireAsync(TimeSpan.FromSeconds(1), cancellation.Token), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await limiter.AcquireAsync(cancellation.Token), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(limiter.Available, Is.EqualTo(1));
            Assert.That(limiter.QueueLength, Is.Zero);
        });
    }

    [Test]
    public async Task AcquireAsync_CancelledAfterHandOff_KeepsSlot()
    {
        var limiter = new ConcurrencyLimiter(1);
        limiter.TryAcquire();
        using var cancellation = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(TimeSpan.FromHours(1), cancellation.Token).AsTask();
        limiter.Release();
        Assert.That(await waiting.WaitAsync(WaitBound), Is.True);

        await cancellation.CancelAsync();

        Assert.Multiple(() =>
        {
            Assert.That(limiter.InUse, Is.EqualTo(1));
            Assert.That(limiter.QueueLength, Is.Zero);
        });
    }

    [TestCase(-2)]
    [TestCase(int.MinValue)]
    public void AcquireAsync_NegativeTimeout_Throws(int milliseconds)
    {
        var limiter = new ConcurrencyLimiter(1);

        Assert.That(
            () => limiter.AcquireAsync(TimeSpan.FromMilliseconds(milliseconds)),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property(nameof(ArgumentOutOfRangeException.ParamName)).EqualTo("timeout"));
    }

    [Test]
    public void AcquireAsync_TimeoutBeyondTimerRange_ThrowsWithoutLosingSlot()
    {
        // TimeProvider.System's timers accept due times up to 0xFFFFFFFE ms (about 49.7 days).
        var limiter = new ConcurrencyLimiter(1);
        limiter.TryAcquire();

        Assert.That(
            () => limiter.AcquireAsync(TimeSpan.FromDays(50)),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property(nameof(ArgumentOutOfRangeException.ParamName)).EqualTo("timeout"));

        limiter.Release();
        Assert.Multiple(() =>
        {
            Assert.That(limiter.QueueLength, Is.Zero);
            Assert.That(limiter.Available, Is.EqualTo(1), "no orphaned waiter may swallow the released slot");
        });
    }

    [Test]
    public async Task AcquireAsync_LongestTimerTimeout_WaitsForRelease()
    {
        var limiter = new ConcurrencyLimiter(1);
        limiter.TryAcquire();

        var waiting = limiter.AcquireAsync(TimeSpan.FromMilliseconds(uint.MaxValue - 1)).AsTask();
        Assert.That(limiter.QueueLength, Is.EqualTo(1));
        limiter.Release();

        Assert.That(await waiting.WaitAsync(WaitBound), Is.True);
    }

    [Test]
    public void Release_MoreThanAcquired_ThrowsAndDoesNotInflateCapacity()
    {
        var limiter = new ConcurrencyLimiter(2);
        limiter.TryAcquire();
        limiter.Release();

        Assert.That(limiter.Release, Throws.InvalidOperationException);
        Assert.Multiple(() =>
        {
            Assert.That(limiter.Available, Is.EqualTo(2));
            Assert.That(limiter.TryAcquire(), Is.True);
            Assert.That(limiter.TryAcquire(), Is.True);
            Assert.That(limiter.TryAcquire(), Is.False, "an extra Release must not add a third slot");
        });
    }

    [Test]
    public void Release_NeverAcquired_Throws()
    {
        var limiter = new ConcurrencyLimiter(1);

        Assert.That(limiter.Release, Throws.InvalidOperationException);
        Assert.That(limiter.Available, Is.EqualTo(1));
    }

    [Test]
    [NonParallelizable]
    public async Task AcquireRelease_64ThreadsMixedModes_NeverExceedsMaxConcurrent()
    {
        const int MaxConcurrent = 4;
        const int ThreadCount = 64;
        const int Iterations = 10_000;
        var limiter = new ConcurrencyLimiter(MaxConcurrent);
        var inFlight = 0;
        var maxObserved = 0;
        var admissions = 0L;
        var queuedAcquires = 0;
        var errors = new ConcurrentQueue<Exception>();
        using var start = new Barrier(ThreadCount);
        var finished = new TaskCompletionSource[ThreadCount];

        for (var t = 0; t < ThreadCount; t++)
        {
            var done = finished[t] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var threadIndex = t;
            var thread = new Thread(() =>
            {
                try
                {
                    if (!start.SignalAndWait(WaitBound))
                    {
                        throw new TimeoutException("The start barrier was not reached.");
                    }

                    for (var i = 0; i < Iterations; i++)
                    {
                        if (!Acquire(limiter, (threadIndex + i) % 4))
                        {
                            Interlocked.Increment(ref queuedAcquires);
                        }

                        var now = Interlocked.Increment(ref inFlight);
                        var seen = Volatile.Read(ref maxObserved);
                        while (now > seen && Interlocked.CompareExchange(ref maxObserved, now, seen) != seen)
                        {
                            seen = Volatile.Read(ref maxObserved);
                        }

                        if (i % 16 == 0)
                        {
                            Thread.Yield(); // let others pile up behind a held slot
                        }

                        Interlocked.Decrement(ref inFlight);
                        Interlocked.Increment(ref admissions);
                        limiter.Release();
                    }

                    done.SetResult();
                }
#pragma warning disable CA1031 // every failure is collected and reported by the test
                catch (Exception exception)
#pragma warning restore CA1031
                {
                    errors.Enqueue(exception);
                    done.SetResult();
                }
            })
            {
                IsBackground = true,
                Name = $"limiter-stress-{t}",
            };
            thread.Start();
        }

        await Task.WhenAll(finished.Select(f => f.Task)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Empty);
            Assert.That(Interlocked.Read(ref admissions), Is.EqualTo((long)ThreadCount * Iterations));
            Assert.That(maxObserved, Is.LessThanOrEqualTo(MaxConcurrent));
            Assert.That(maxObserved, Is.EqualTo(MaxConcurrent), "the test never reached the limit, so it proved nothing");
            Assert.That(queuedAcquires, Is.GreaterThan(10), "too few acquires had to queue to exercise the hand-off");
            Assert.That(limiter.Available, Is.EqualTo(MaxConcurrent));
            Assert.That(limiter.QueueLength, Is.Zero);
        });

        // Returns true if the slot was taken at once, false if the caller had to queue.
        static bool Acquire(ConcurrencyLimiter limiter, int mode)
        {
            if (mode == 0)
            {
                var spin = default(SpinWait);
                while (!limiter.TryAcquire())
                {
                    spin.SpinOnce();
                }

                return true;
            }

            if (mode == 1)
            {
                var pending = limiter.AcquireAsync(CancellationToken.None);
                var immediate = pending.IsCompleted;
                pending.AsTask().GetAwaiter().GetResult();
                return immediate;
            }

            var timed = limiter.AcquireAsync(mode == 2 ? TimeSpan.FromSeconds(30) : Timeout.InfiniteTimeSpan);
            var atOnce = timed.IsCompleted;
            if (!timed.AsTask().GetAwaiter().GetResult())
            {
                throw new TimeoutException("An acquire with a 30 s or infinite timeout returned false.");
            }

            return atOnce;
        }
    }
}
