using System.Diagnostics;

namespace HardenedGateway;

/// <summary>
/// A counting semaphore that caps the requests in flight to one upstream (FR-008, FR-010, SC-005).
/// It never admits more than <see cref="MaxConcurrent"/> at once.
/// </summary>
/// <remarks>
/// <para>
/// A free slot is taken with one compare-and-swap and no allocation (<see cref="TryAcquire"/>); only a
/// caller that has to wait allocates, and waiters are served first in, first out. A
/// <see cref="MaxConcurrent"/> of 0 or less gives a limiter that admits everything
/// (<see cref="IsEnabled"/> is <see langword="false"/>).
/// </para>
/// <para>
/// <c>System.Threading.RateLimiting.ConcurrencyLimiter</c> was considered: it allocates a lease
/// object on every acquire and takes a lock even when a permit is free, which this hot path avoids.
/// </para>
/// </remarks>
public sealed class ConcurrencyLimiter
{
    // The longest due time System.Threading.Timer (behind TimeProvider.System) accepts. A longer timeout
    // would throw only after the waiter is queued, leaving an orphan that swallows the next free slot.
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly TimeProvider _timeProvider;
    private readonly LinkedList<Waiter> _waiters = new();
    private int _available;
    private int _waiterCount;

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyLimiter"/> class.</summary>
    /// <param name="maxConcurrent">The most holders at once; 0 or less admits everything.</param>
    /// <param name="timeProvider">The clock for acquire timeouts; <see langword="null"/> takes <see cref="TimeProvider.System"/>.</param>
    public ConcurrencyLimiter(int maxConcurrent, TimeProvider? timeProvider = null)
    {
        MaxConcurrent = Math.Max(0, maxConcurrent);
        _available = MaxConcurrent;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Gets the most holders at once; 0 when the limiter is disabled.</summary>
    public int MaxConcurrent { get; }

    /// <summary>Gets a value indicating whether the limiter limits anything.</summary>
    public bool IsEnabled => MaxConcurrent > 0;

    /// <summary>Gets the number of free slots (<see cref="int.MaxValue"/> when disabled).</summary>
    public int Available => IsEnabled ? Math.Max(0, Volatile.Read(ref _available)) : int.MaxValue;

    /// <summary>Gets the number of slots held.</summary>
    public int InUse => IsEnabled ? MaxConcurrent - Math.Max(0, Volatile.Read(ref _available)) : 0;

    /// <summary>Gets the number of callers waiting for a slot.</summary>
    public int QueueLength => Volatile.Read(ref _waiterCount);

    /// <summary>Takes a slot if one is free, without waiting and without allocating.</summary>
    /// <returns><see langword="true"/> if a slot was taken; the caller must then call <see cref="Release"/> once.</returns>
    public bool TryAcquire()
    {
        if (!IsEnabled)
        {
            return true;
        }

        var available = Volatile.Read(ref _available);
        while (available > 0)
        {
            var seen = Interlocked.CompareExchange(ref _available, available - 1, available);
            if (seen == available)
            {
                return true;
            }

            available = seen;
        }

        return false;
    }

    /// <summary>Takes a slot, waiting until one is free or <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the slot is taken.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a slot was taken.</exception>
#pragma warning disable RS0026 // both overloads mirror SemaphoreSlim.WaitAsync; the first release, so no compatibility is at stake
    public ValueTask AcquireAsync(CancellationToken cancellationToken = default)
#pragma warning restore RS0026
    {
        var pending = AcquireAsync(Timeout.InfiniteTimeSpan, cancellationToken);
        return pending.IsCompletedSuccessfully ? default : AwaitInfinite(pending);

        static async ValueTask AwaitInfinite(ValueTask<bool> pending) => await pending.ConfigureAwait(false);
    }

    /// <summary>
    /// Takes a slot, waiting up to <paramref name="timeout"/> for one to be free (queue mode). A free slot is
    /// taken at once, without allocating.
    /// </summary>
    /// <param name="timeout">The longest wait; <see cref="TimeSpan.Zero"/> does not wait, <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="true"/> if a slot was taken (call <see cref="Release"/> once); <see langword="false"/> if the wait timed out.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite, or longer than 49 days (the longest timer due time).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a slot was taken.</exception>
#pragma warning disable RS0026 // see above
    public ValueTask<bool> AcquireAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
#pragma warning restore RS0026
    {
        if ((timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan) || timeout > MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be between zero and 49 days, or Timeout.InfiniteTimeSpan.");
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        if (TryAcquire())
        {
            return new ValueTask<bool>(true);
        }

        return timeout == TimeSpan.Zero ? new ValueTask<bool>(false) : new ValueTask<bool>(WaitForSlot(timeout, cancellationToken));
    }

    /// <summary>Gives back a slot taken by <see cref="TryAcquire"/> or <see cref="AcquireAsync(TimeSpan, CancellationToken)"/>.</summary>
    /// <exception cref="InvalidOperationException">More slots were released than taken; capacity is never inflated.</exception>
    public void Release()
    {
        if (!IsEnabled)
        {
            return;
        }

        var available = Volatile.Read(ref _available);
        while (true)
        {
            if (available >= MaxConcurrent)
            {
                throw new InvalidOperationException($"Release was called more often than a slot was acquired (MaxConcurrent = {MaxConcurrent}).");
            }

            var seen = Interlocked.CompareExchange(ref _available, available + 1, available);
            if (seen == available)
            {
                break;
            }

            available = seen;
        }

        // Dekker-style pairing with WaitForSlot: either a waiter that registered itself sees the freed
        // slot in its own TryAcquire, or this read sees the waiter and hands the slot over.
        if (Volatile.Read(ref _waiterCount) != 0)
        {
            lock (_waiters)
            {
                HandOffUnsynchronized();
            }
        }
    }

    private Task<bool> WaitForSlot(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waiter = new Waiter(this);
        lock (_waiters)
        {
            Interlocked.Increment(ref _waiterCount);
            if (TryAcquire())
            {
                Interlocked.Decrement(ref _waiterCount);
                return Task.FromResult(true);
            }

            waiter.Node = _waiters.AddLast(waiter);
        }

        waiter.Arm(timeout, _timeProvider, cancellationToken);
        return waiter.Task;
    }

    private void HandOffUnsynchronized()
    {
        while (_waiters.First is { } node && TryAcquire())
        {
            RemoveUnsynchronized(node);
            if (!node.Value.TrySetResult(true))
            {
                // The waiter gave up concurrently; its slot goes back.
                ReleaseWithoutHandOff();
            }
        }
    }

    private void RemoveUnsynchronized(LinkedListNode<Waiter> node)
    {
        _waiters.Remove(node);
        node.Value.Node = null;
        Interlocked.Decrement(ref _waiterCount);
    }

    private void ReleaseWithoutHandOff() => Interlocked.Increment(ref _available);

    /// <summary>Called by a waiter whose timeout or cancellation fired; false if it was already served.</summary>
    private bool TryAbandon(Waiter waiter)
    {
        lock (_waiters)
        {
            if (waiter.Node is null)
            {
                return false;
            }

            RemoveUnsynchronized(waiter.Node);
            return true;
        }
    }

    private sealed class Waiter(ConcurrencyLimiter owner) : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private ITimer? _timer;
        private CancellationTokenRegistration _registration;

        public LinkedListNode<Waiter>? Node { get; set; }

        public void Arm(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
        {
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                _timer = timeProvider.CreateTimer(static state => ((Waiter)state!).OnTimeout(), this, timeout, Timeout.InfiniteTimeSpan);
            }

            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).OnCanceled(token), this);
            }

            // Whatever completes the wait, the timer and registration go with it.
            _ = Task.ContinueWith(static (_, state) => ((Waiter)state!).Disarm(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        private void OnTimeout()
        {
            if (owner.TryAbandon(this))
            {
                TrySetResult(false);
            }
        }

        private void OnCanceled(CancellationToken token)
        {
            if (owner.TryAbandon(this))
            {
                TrySetCanceled(token);
            }
        }

        private void Disarm()
        {
            _timer?.Dispose();
            _registration.Dispose();
            Debug.Assert(Node is null, "A completed waiter is no longer queued.");
        }
    }
}
