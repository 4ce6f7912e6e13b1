namespace HardenedGateway.Forwarding;

/// <summary>
/// The one timer of a proxied exchange, moving through its phases: while the request body uploads,
/// silence is bounded by the stream idle timeout (or, when that is off, the response-header timeout);
/// once the request is sent, the response-header timeout runs; once the response has started, only
/// the stream idle timeout applies, restarted by every body read and write in either direction.
/// </summary>
/// <remarks>
/// One lock orders the phases, because the upload and the response run concurrently when the upstream
/// answers before the request body ends (HTTP/2): a late end of the upload must not arm the
/// response-header timer over a response that has already started.
/// </remarks>
internal sealed class ExchangeTimeout : IDisposable
{
    /// <summary>
    /// Bodyless exchanges on the system clock (the common small GET) reuse their timer object, its
    /// token source, timer and registrations (with the other hot-path changes of the same commit series,
    /// a small proxied GET went from 3,483 to 2,879 allocated bytes; build/loadtest.sh).
    /// Exchanges with a request body are never pooled: the handler may still be uploading (and telling
    /// this timer) after the response has ended.
    /// </summary>
    private const int MaxPooled = 1024;

    private static readonly System.Collections.Concurrent.ConcurrentQueue<ExchangeTimeout> Pool = new();
    private static int s_pooledCount;

    /// <summary>Gets the number of timers waiting in the pool (tests).</summary>
    internal static int PooledCount => Volatile.Read(ref s_pooledCount);

    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _source;
    private readonly bool _poolable;
    private TimeSpan _headerTimeout;
    private TimeSpan _idleTimeout;
    private volatile Phase _phase;
    private CancellationTokenRegistration _linked;

    /// <param name="headerTimeout">The response-header timeout; zero means none (EC-001).</param>
    /// <param name="idleTimeout">The stream idle timeout; zero means off.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="hasRequestBody">Whether a request body is uploaded first; without one the header timer starts at once.</param>
    public ExchangeTimeout(TimeSpan headerTimeout, TimeSpan idleTimeout, TimeProvider timeProvider, bool hasRequestBody)
        : this(timeProvider, poolable: false)
    {
        Start(headerTimeout, idleTimeout, hasRequestBody);
    }

    private ExchangeTimeout(TimeProvider timeProvider, bool poolable)
    {
        _source = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        Token = _source.Token;
        _poolable = poolable;
    }

    /// <summary>Gets a timer for one exchange: a pooled one when the exchange qualifies, else a new one.</summary>
    public static ExchangeTimeout Rent(TimeSpan headerTimeout, TimeSpan idleTimeout, TimeProvider timeProvider, bool hasRequestBody)
    {
        if (hasRequestBody || !ReferenceEquals(timeProvider, TimeProvider.System))
        {
            return new ExchangeTimeout(headerTimeout, idleTimeout, timeProvider, hasRequestBody);
        }

        if (Pool.TryDequeue(out var pooled))
        {
            Interlocked.Decrement(ref s_pooledCount);
        }
        else
        {
            pooled = new ExchangeTimeout(timeProvider, poolable: true);
        }

        pooled.Start(headerTimeout, idleTimeout, hasRequestBody: false);
        return pooled;
    }

    private enum Phase
    {
        Uploading,
        AwaitingHeaders,
        Body,
        Done,
    }

    /// <summary>Gets the token that fires when a timeout elapses or <see cref="Cancel"/> is called.</summary>
    public CancellationToken Token { get; }

    /// <summary>Gets a value indicating whether the token has fired.</summary>
    public bool HasFired => Token.IsCancellationRequested;

    private TimeSpan UploadSilence => _idleTimeout > TimeSpan.Zero ? _idleTimeout : _headerTimeout;

    /// <summary>Fires the token now (the client went away).</summary>
    /// <remarks>
    /// Not under the lock: cancellation runs its callbacks synchronously. The caller's registration that
    /// calls this is disposed (which waits for a running callback) before this instance is.
    /// </remarks>
    public void Cancel() => _source.Cancel();

    /// <summary>
    /// Fires the token when <paramref name="clientAborted"/> does (the client went away), until this
    /// exchange is disposed. Kept here rather than in the caller's async state machine, which is
    /// allocated per request while a pooled timer is not.
    /// </summary>
    public void CancelWith(CancellationToken clientAborted) =>
        _linked = clientAborted.UnsafeRegister(static state => ((ExchangeTimeout)state!).Cancel(), this);

    /// <summary>Body bytes are about to move in either direction: restarts the silence clock of the current phase.</summary>
    public void OnActivity()
    {
        if (_phase == Phase.Body && _idleTimeout <= TimeSpan.Zero)
        {
            return; // the common case: nothing to restart, no lock
        }

        lock (_lock)
        {
            switch (_phase)
            {
                case Phase.Uploading:
                    Arm(UploadSilence);
                    break;
                case Phase.Body when _idleTimeout > TimeSpan.Zero:
                    Arm(_idleTimeout);
                    break;
            }
        }
    }

    /// <summary>The request body has been sent: the response-header timeout starts, unless the response already has.</summary>
    public void OnRequestSent()
    {
        lock (_lock)
        {
            if (_phase == Phase.Uploading)
            {
                _phase = Phase.AwaitingHeaders;
                Arm(_headerTimeout);
            }
        }
    }

    /// <summary>The upstream's headers arrived: from now on only silence ends the exchange.</summary>
    public void OnResponseStarted()
    {
        lock (_lock)
        {
            if (_phase != Phase.Done)
            {
                _phase = Phase.Body;
                Arm(_idleTimeout);
            }
        }
    }

    public void Dispose()
    {
        // First, outside the lock: unregistering waits for a running callback, which cancels the source.
        _linked.Dispose();
        _linked = default;
        lock (_lock)
        {
            _phase = Phase.Done;

            // TryReset stops the timer and drops every registration; it fails once the token has fired.
            if (_poolable && _source.TryReset())
            {
                if (Interlocked.Increment(ref s_pooledCount) <= MaxPooled)
                {
                    Pool.Enqueue(this);
                    return;
                }

                Interlocked.Decrement(ref s_pooledCount);
            }

            _source.Dispose();
        }
    }

    private void Start(TimeSpan headerTimeout, TimeSpan idleTimeout, bool hasRequestBody)
    {
        _headerTimeout = headerTimeout;
        _idleTimeout = idleTimeout;
        _phase = hasRequestBody ? Phase.Uploading : Phase.AwaitingHeaders;
        Arm(hasRequestBody ? UploadSilence : _headerTimeout);
    }

    /// <summary>Arms the timer for <paramref name="delay"/> from now; zero disarms it. Runs under the lock (or in the constructor).</summary>
    private void Arm(TimeSpan delay)
    {
        if (!_source.IsCancellationRequested)
        {
            _source.CancelAfter(delay > TimeSpan.Zero ? delay : Timeout.InfiniteTimeSpan);
        }
    }
}
