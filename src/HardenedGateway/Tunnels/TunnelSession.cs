namespace HardenedGateway.Tunnels;

/// <summary>
/// One open tunnel: bytes copied both ways through pooled buffers until either side closes or fails,
/// the idle timeout or the lifetime fires, or the host stops. The gateway never writes a byte of its
/// own into the tunnel (no ping, no close frame): it only copies, and ends a tunnel by closing both
/// connections, as nginx, HAProxy and YARP do.
/// </summary>
/// <remarks>
/// Model: YARP's <c>StreamCopier</c> (zero-byte read before renting, so an idle tunnel holds no buffer)
/// and its <c>ActivityTimeout</c>, which for a WebSocket counts traffic in both directions
/// (microsoft/reverse-proxy #1764, #2615); HAProxy's <c>timeout tunnel</c> and nginx's
/// <c>proxy_read_timeout</c> are the same idle rule. One timer serves idle and lifetime: it is set for
/// the nearer deadline and, when it fires early because traffic moved the idle deadline, re-armed.
/// </remarks>
internal sealed class TunnelSession : IDisposable
{
    private const int NotEnded = -1;

    private readonly BytesPool _pool;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _maxLifetime;
    private readonly long _started;
    private readonly CancellationTokenSource _ended = new();
    private readonly ITimer? _timer;
    private long _lastActivity;
    private long _bytesFromClient;
    private long _bytesFromUpstream;
    private int _end = NotEnded;

    public TunnelSession(BytesPool pool, TimeProvider timeProvider, TimeSpan idleTimeout, TimeSpan maxLifetime)
    {
        _pool = pool;
        _timeProvider = timeProvider;
        _idleTimeout = idleTimeout;
        _maxLifetime = maxLifetime;
        _started = _lastActivity = timeProvider.GetTimestamp();
        var firstDue = NextDue(idleTimeout, maxLifetime);
        if (firstDue != Timeout.InfiniteTimeSpan)
        {
            _timer = timeProvider.CreateTimer(static state => ((TunnelSession)state!).OnTimer(), this, firstDue, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Gets the bytes read from the client and written to the upstream.</summary>
    public long BytesFromClient => Interlocked.Read(ref _bytesFromClient);

    /// <summary>Gets the bytes read from the upstream and written to the client.</summary>
    public long BytesFromUpstream => Interlocked.Read(ref _bytesFromUpstream);

    /// <summary>Gets how long the tunnel has been open.</summary>
    public TimeSpan Elapsed => _timeProvider.GetElapsedTime(_started);

    /// <summary>Copies both ways until the tunnel ends; returns how it ended. Both pumps have returned their buffers by then.</summary>
    public async Task<TunnelEnd> RunAsync(Stream client, Stream upstream, CancellationToken stopping)
    {
        using var stoppingRegistration = stopping.UnsafeRegister(static state => ((TunnelSession)state!).End(TunnelEnd.Shutdown), this);
        var toUpstream = PumpAsync(client, upstream, fromClient: true);
        var toClient = PumpAsync(upstream, client, fromClient: false);
        await toUpstream.ConfigureAwait(false);
        await toClient.ConfigureAwait(false);
        return (TunnelEnd)Volatile.Read(ref _end);
    }

    /// <summary>Ends the tunnel for <paramref name="end"/> unless it already ended; the first cause wins.</summary>
    public void End(TunnelEnd end)
    {
        if (Interlocked.CompareExchange(ref _end, (int)end, NotEnded) == NotEnded)
        {
            // Both pumps wait on this token: the pending read or write of each is cancelled.
            _ended.Cancel();
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _ended.Dispose();
    }

    private async Task PumpAsync(Stream source, Stream destination, bool fromClient)
    {
        var token = _ended.Token;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    if (buffer is null)
                    {
                        // A zero-byte read waits for data without holding a buffer: an idle tunnel costs no 32 KiB.
                        await source.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                        buffer = _pool.Rent();
                    }

                    read = await source.ReadAsync(buffer.AsMemory(), token).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // every failure ends the tunnel with its cause, never a crash
                catch (Exception)
                {
                    End(fromClient ? TunnelEnd.ClientReset : TunnelEnd.UpstreamReset);
                    return;
                }

                if (read == 0)
                {
                    End(fromClient ? TunnelEnd.ClientClosed : TunnelEnd.UpstreamClosed);
                    return;
                }

                Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
                Interlocked.Add(ref fromClient ? ref _bytesFromClient : ref _bytesFromUpstream, read);
                try
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    End(fromClient ? TunnelEnd.UpstreamReset : TunnelEnd.ClientReset);
                    return;
                }
#pragma warning restore CA1031

                if (read < buffer.Length)
                {
                    // Drained: give the buffer back and wait with a zero-byte read again.
                    _pool.Return(buffer);
                    buffer = null;
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                _pool.Return(buffer);
            }
        }
    }

    private void OnTimer()
    {
        if (Volatile.Read(ref _end) != NotEnded)
        {
            return;
        }

        var now = _timeProvider.GetTimestamp();
        var open = _timeProvider.GetElapsedTime(_started, now);
        if (_maxLifetime > TimeSpan.Zero && open >= _maxLifetime)
        {
            End(TunnelEnd.Lifetime);
            return;
        }

        var silent = _timeProvider.GetElapsedTime(Volatile.Read(ref _lastActivity), now);
        if (_idleTimeout > TimeSpan.Zero && silent >= _idleTimeout)
        {
            End(TunnelEnd.IdleTimeout);
            return;
        }

        var idleLeft = _idleTimeout > TimeSpan.Zero ? _idleTimeout - silent : Timeout.InfiniteTimeSpan;
        var lifetimeLeft = _maxLifetime > TimeSpan.Zero ? _maxLifetime - open : Timeout.InfiniteTimeSpan;
        try
        {
            _timer?.Change(NextDue(idleLeft, lifetimeLeft), Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The tunnel ended and disposed the timer while this callback ran.
        }
    }

    /// <summary>The nearer of two positive deadlines; infinite when neither is set (0 or infinite means not set).</summary>
    private static TimeSpan NextDue(TimeSpan first, TimeSpan second)
    {
        var hasFirst = first > TimeSpan.Zero;
        var hasSecond = second > TimeSpan.Zero;
        if (hasFirst && hasSecond)
        {
            return first < second ? first : second;
        }

        return hasFirst ? first : hasSecond ? second : Timeout.InfiniteTimeSpan;
    }
}
