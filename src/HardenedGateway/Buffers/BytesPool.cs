using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HardenedGateway;

/// <summary>
/// A bounded pool of 32 KiB buffers for copying request and response bodies (FR-016, FR-017, EC-005).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Rent"/> and <see cref="Return"/> are the Get/Put of the original specification. The
/// pool creates at most <see cref="MaxBuffers"/> buffers and retains at most that many. When all of
/// them are out, <see cref="Rent"/> falls back to a plain allocation, counts it and logs a warning at
/// most once per <see cref="FallbackWarningInterval"/>, so a burst cannot flood the logs.
/// </para>
/// <para>
/// <see cref="Return"/> ignores buffers of another size (counted as <see cref="ForeignReturnCount"/>)
/// and drops buffers beyond the retention bound. Never return the same buffer twice, and never use a
/// buffer after returning it.
/// </para>
/// </remarks>
public sealed partial class BytesPool
{
    /// <summary>The size of every buffer: 32 KiB (FR-017).</summary>
    public const int BufferSize = 32 * 1024;

    /// <summary>The default bound on buffers created and retained: 2,048 (64 MiB), enough for 1,000 concurrent streams (NFR-003).</summary>
    public const int DefaultMaxBuffers = 2048;

    /// <summary>The shortest time between two pool-exhaustion warnings.</summary>
    public static readonly TimeSpan FallbackWarningInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentQueue<byte[]> _retained = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private int _created;
    private int _retainedCount;
    private long _rentCount;
    private long _returnCount;
    private long _fallbackCount;
    private long _foreignReturnCount;
    private long _lastWarningTimestamp;
    private long _fallbacksAtLastWarning;

    /// <summary>Initializes a new instance of the <see cref="BytesPool"/> class.</summary>
    /// <param name="maxBuffers">The most buffers the pool creates and retains.</param>
    /// <param name="logger">Receives the rate-limited exhaustion warning; <see langword="null"/> logs nothing.</param>
    /// <param name="timeProvider">The clock for rate-limiting the warning; <see langword="null"/> takes <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBuffers"/> is less than 1.</exception>
    public BytesPool(int maxBuffers = DefaultMaxBuffers, ILogger<BytesPool>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBuffers, 1);
        MaxBuffers = maxBuffers;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _lastWarningTimestamp = long.MinValue;
    }

    /// <summary>Gets the most buffers the pool creates and retains.</summary>
    public int MaxBuffers { get; }

    /// <summary>Gets the number of buffers handed out, pooled or fallback.</summary>
    public long RentCount => Interlocked.Read(ref _rentCount);

    /// <summary>Gets the number of buffers given back (of the right size).</summary>
    public long ReturnCount => Interlocked.Read(ref _returnCount);

    /// <summary>Gets the number of buffers allocated because the pool was exhausted (EC-005).</summary>
    public long FallbackCount => Interlocked.Read(ref _fallbackCount);

    /// <summary>Gets the number of returned arrays that were ignored because they were not <see cref="BufferSize"/> long.</summary>
    public long ForeignReturnCount => Interlocked.Read(ref _foreignReturnCount);

    /// <summary>Gets the number of buffers waiting in the pool.</summary>
    public int RetainedCount => Volatile.Read(ref _retainedCount);

    /// <summary>Gets the number of buffers rented and not yet returned.</summary>
    public long OutstandingCount => RentCount - ReturnCount;

    /// <summary>Hands out a buffer of exactly <see cref="BufferSize"/> bytes.</summary>
    /// <returns>A buffer; give it back with <see cref="Return"/>.</returns>
    public byte[] Rent()
    {
        Interlocked.Increment(ref _rentCount);
        if (_retained.TryDequeue(out var buffer))
        {
            Interlocked.Decrement(ref _retainedCount);
            return buffer;
        }

        if (Interlocked.Increment(ref _created) <= MaxBuffers)
        {
            return new byte[BufferSize];
        }

        Interlocked.Decrement(ref _created);
        var fallbacks = Interlocked.Increment(ref _fallbackCount);
        WarnExhaustedRateLimited(fallbacks);
        return new byte[BufferSize];
    }

    /// <summary>Gives a buffer back. Arrays of another size are ignored; buffers beyond the bound are dropped.</summary>
    /// <param name="buffer">The buffer from <see cref="Rent"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    public void Return(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length != BufferSize)
        {
            Interlocked.Increment(ref _foreignReturnCount);
            return;
        }

        Interlocked.Increment(ref _returnCount);
        if (Interlocked.Increment(ref _retainedCount) <= MaxBuffers)
        {
            _retained.Enqueue(buffer);
        }
        else
        {
            Interlocked.Decrement(ref _retainedCount);
        }
    }

    private void WarnExhaustedRateLimited(long fallbacks)
    {
        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        var now = _timeProvider.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarningTimestamp);
        if (last != long.MinValue && _timeProvider.GetElapsedTime(last, now) < FallbackWarningInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lastWarningTimestamp, now, last) != last)
        {
            return; // another thread logs this interval's warning
        }

        var sinceLast = fallbacks - Interlocked.Exchange(ref _fallbacksAtLastWarning, fallbacks);
        Log.PoolExhausted(_logger, MaxBuffers, sinceLast, fallbacks);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = HardenedGateway.Diagnostics.EventIds.BufferPoolExhausted, Level = LogLevel.Warning,
            Message = "Buffer pool exhausted: all {MaxBuffers} pooled 32 KiB buffers are in use; allocated {FallbacksSinceLastWarning} fallback buffers since the last warning ({FallbacksTotal} in all).")]
        public static partial void PoolExhausted(ILogger logger, int maxBuffers, long fallbacksSinceLastWarning, long fallbacksTotal);
    }
}
