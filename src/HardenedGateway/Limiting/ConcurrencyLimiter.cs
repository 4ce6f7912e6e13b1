using System.Diagnostics;
using HardenedGateway.Forwarding;
using HardenedGateway.Limiting.Adaptive;

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
/// The same type serves a static limit and an adaptive one (<see cref="ProxyOptions.AdaptiveConcurrency"/>):
/// an adaptive limiter's <see cref="MaxConcurrent"/> is moved by its controller from the upstream's
/// response-header latency and failures. When the limit falls below the slots in use, nobody is cut
/// off: new requests wait or are rejected until enough slots come back.
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
    private readonly AdaptiveLimitController? _controller;
    private int _limit;
    private int _inUse;
    private int _waiterCount;

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyLimiter"/> class.</summary>
    /// <param name="maxConcurrent">The most holders at once; 0 or less admits everything.</param>
    /// <param name="timeProvider">The clock for acquire timeouts; <see langword="null"/> takes <see cref="TimeProvider.System"/>.</param>
    public ConcurrencyLimiter(int maxConcurrent, TimeProvider? timeProvider = null)
    {
        _limit = Math.Max(0, maxConcurrent);
        IsEnabled = _limit > 0;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Initializes a new adaptive limiter whose limit its controller moves (AC-001).</summary>
    /// <param name="adaptive">The validated adaptive settings.</param>
    /// <param name="timeProvider">The clock for acquire timeouts and latency samples.</param>
    internal ConcurrencyLimiter(AdaptiveConcurrencyOptions adaptive, TimeProvider? timeProvider = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _controller = new AdaptiveLimitController(adaptive, _timeProvider, SetLimit);
        _limit = _controller.Limit;
        IsEnabled = true;
    }

    /// <summary>Gets the most holders at once (for an adaptive limiter, the current limit); 0 when the limiter is disabled.</summary>
    public int MaxConcurrent => Volatile.Read(ref _limit);

    /// <summary>Gets a value indicating whether the limiter limits anything.</summary>
    public bool IsEnabled { get; }

    /// <summary>Gets the number of free slots (<see cref="int.MaxValue"/> when disabled).</summary>
    public int Available => IsEnabled ? Math.Max(0, Volatile.Read(ref _limit) - Volatile.Read(ref _inUse)) : int.MaxValue;

    /// <summary>Gets the number of slots held.</summary>
    public int InUse => Volatile.Read(ref _inUse);

    /// <summary>Gets the number of callers waiting for a slot.</summary>
    public int QueueLength => Volatile.Read(ref _waiterCount);

    /// <summary>Gets a value indicating whether the limit adapts by itself (<see cref="ProxyOptions.AdaptiveConcurrency"/>).</summary>
    public bool IsAdaptive => _controller is not null;

    /// <summary>Reads the state of an adaptive limit.</summary>
    /// <returns>The state, or <see langword="null"/> for a static limit.</returns>
    public AdaptiveConcurrencySnapshot? GetAdaptiveSnapshot() => _controller is { } controller
        ? new AdaptiveConcurrencySnapshot(controller.Limit, controller.MinLimit, controller.MaxLimit, controller.BaselineSeconds, controller.RecentSeconds)
        : null;

    /// <summary>Gets the adaptive controller, or <see langword="null"/> for a static limit.</summary>
    internal AdaptiveLimitController? Adaptive => _controller;

    /// <summary>Takes a slot if one is free, without waiting and without allocating.</summary>
    /// <returns><see langword="true"/> if a slot was taken; the caller must then call <see cref="Release"/> once.</returns>
    public bool TryAcquire()
    {
        if (!IsEnabled)
        {
            return true;
        }

        var inUse = Volatile.Read(ref _inUse);
        while (inUse < Volatile.Read(ref _limit))
        {
            var seen = Interlocked.CompareExchange(ref _inUse, inUse + 1, inUse);
            if (seen == inUse)
            {
                return true;
            }

            inUse = seen;
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

        var inUse = Volatile.Read(ref _inUse);
        while (true)
        {
            if (inUse <= 0)
            {
                throw new InvalidOperationException($"Release was called more often than a slot was acquired (MaxConcurrent = {MaxConcurrent}).");
            }

            var seen = Interlocked.CompareExchange(ref _inUse, inUse - 1, inUse);
            if (seen == inUse)
            {
                break;
            }

            inUse = seen;
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

    private void ReleaseWithoutHandOff() => Interlocked.Decrement(ref _inUse);

    /// <summary>
    /// Records an upstream answer's response headers (AC-002): 500/502/503/504 are failures, other 4xx
    /// are neither (a fast 404 or 401 never ran the model), everything else is a latency sample.
    /// Does nothing for a static limit.
    /// </summary>
    internal void OnResponseHeaders(long sentAt, long headersAt, int statusCode)
    {
        if (_controller is not { } controller)
        {
            return;
        }

        if (OutcomeClassifier.IsFailureStatus(statusCode))
        {
            controller.OnFailure(headersAt);
        }
        else if (statusCode < 400)
        {
            controller.OnResponse(sentAt, headersAt, Volatile.Read(ref _inUse));
        }
    }

    /// <summary>Records an upstream failure before headers (unreachable, timeout, bad response). Does nothing for a static limit.</summary>
    internal void OnUpstreamFailure() => _controller?.OnFailure(_timeProvider.GetTimestamp());

    /// <summary>Moves the limit (called by the controller, in order); a raised limit serves waiters at once.</summary>
    private void SetLimit(int limit)
    {
        Interlocked.Exchange(ref _limit, limit);
        if (Volatile.Read(ref _waiterCount) != 0)
        {
            lock (_waiters)
            {
                HandOffUnsynchronized();
            }
        }
    }

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
