using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace HardenedGateway.Testing;

/// <summary>Which way data flows through a <see cref="FaultProxy"/> connection (Toxiproxy's naming).</summary>
public enum ToxicStream
{
    /// <summary>From the connecting side (the gateway, or a client) to the target: the request.</summary>
    Upstream,

    /// <summary>From the target back to the connecting side: the response.</summary>
    Downstream,
}

/// <summary>The kinds of fault a <see cref="FaultProxy"/> injects, modelled on Toxiproxy's toxics.</summary>
public enum ToxicKind
{
    /// <summary>Delays every chunk by <see cref="Toxic.Latency"/> ± <see cref="Toxic.Jitter"/>.</summary>
    Latency,

    /// <summary>Limits the flow to <see cref="Toxic.RateKilobytesPerSecond"/> KB/s.</summary>
    Bandwidth,

    /// <summary>Splits every chunk into pieces of <see cref="Toxic.SliceSize"/> ± <see cref="Toxic.SliceVariation"/> bytes with <see cref="Toxic.SliceDelay"/> between them.</summary>
    Slicer,

    /// <summary>Closes the connection (FIN both ways) once <see cref="Toxic.Bytes"/> bytes have passed in this direction.</summary>
    LimitData,

    /// <summary>Resets the connection (RST both ways) after <see cref="Toxic.Timeout"/>, counted from the first data, or once <see cref="Toxic.Bytes"/> bytes have passed.</summary>
    ResetPeer,

    /// <summary>Holds all data (never forwards it); after <see cref="Toxic.Timeout"/> (unless zero: never) the connection is closed.</summary>
    Timeout,

    /// <summary>Delays passing on the source's close by <see cref="Toxic.Delay"/>.</summary>
    SlowClose,
}

/// <summary>One fault: what, in which direction, for which connections, from which byte on.</summary>
public sealed record Toxic(ToxicKind Kind, ToxicStream Stream)
{
    /// <summary>Gets the latency added to every chunk (<see cref="ToxicKind.Latency"/>).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Gets the random spread around <see cref="Latency"/>.</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Gets the rate for <see cref="ToxicKind.Bandwidth"/>.</summary>
    public int RateKilobytesPerSecond { get; init; } = 64;

    /// <summary>Gets the average slice size for <see cref="ToxicKind.Slicer"/>.</summary>
    public int SliceSize { get; init; } = 16;

    /// <summary>Gets the slice size spread for <see cref="ToxicKind.Slicer"/>.</summary>
    public int SliceVariation { get; init; }

    /// <summary>Gets the pause between slices for <see cref="ToxicKind.Slicer"/>.</summary>
    public TimeSpan SliceDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Gets the byte count for <see cref="ToxicKind.LimitData"/> and <see cref="ToxicKind.ResetPeer"/> (0: not by bytes).</summary>
    public long Bytes { get; init; }

    /// <summary>Gets the time for <see cref="ToxicKind.ResetPeer"/> and <see cref="ToxicKind.Timeout"/>.</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>Gets the delay for <see cref="ToxicKind.SlowClose"/>.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Gets the bytes that pass unharmed in this direction before the toxic starts (0: from the first byte).</summary>
    public long AfterBytes { get; init; }

    /// <summary>Gets the probability (0..1) that a new connection gets this toxic, decided once per connection (Toxiproxy's toxicity).</summary>
    public double Toxicity { get; init; } = 1;

    /// <summary>Gets a filter on the connection number (1 for the first accepted), or null for every connection.</summary>
    public Func<int, bool>? Connections { get; init; }

    /// <summary>A latency toxic.</summary>
    public static Toxic Slow(ToxicStream stream, TimeSpan latency, TimeSpan jitter = default) => new(ToxicKind.Latency, stream) { Latency = latency, Jitter = jitter };
}

/// <summary>
/// A fault-injecting TCP proxy on 127.0.0.1 port 0, in front of a real server, after Shopify's
/// Toxiproxy: toxics are switched on and off at run time, per direction and per connection, and act
/// on connections already open (each chunk looks the current toxics up). <see cref="Down"/> refuses
/// new connections and cuts the open ones.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<int, Connection> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _listenerLock = new();
    private Socket? _listener;
    private Toxic[] _toxics = [];
    private int _connectionCount;
    private int _seed = 17;

    private FaultProxy(IPEndPoint target)
    {
        _target = target;
    }

    /// <summary>Gets the proxy's address (http://127.0.0.1:port/); the target's path is not kept.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets the port the proxy listens on; it is kept across <see cref="Down"/> and <see cref="Up"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Gets the number of connections accepted so far.</summary>
    public int AcceptedConnections => Volatile.Read(ref _connectionCount);

    /// <summary>Gets the number of connections open now.</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>Gets whether the proxy refuses connections.</summary>
    public bool IsDown { get; private set; }

    /// <summary>Starts a proxy in front of <paramref name="target"/> (a loopback http address).</summary>
    public static FaultProxy Start(Uri target)
    {
        var proxy = new FaultProxy(new IPEndPoint(IPAddress.Loopback, target.Port));
        proxy.Listen(0);
        return proxy;
    }

    /// <summary>Adds a toxic; it applies to open connections from their next chunk on.</summary>
    public Toxic Add(Toxic toxic)
    {
        lock (_listenerLock)
        {
            _toxics = [.. _toxics, toxic];
        }

        return toxic;
    }

    /// <summary>Removes one toxic.</summary>
    public void Remove(Toxic toxic)
    {
        lock (_listenerLock)
        {
            _toxics = Array.FindAll(_toxics, candidate => !ReferenceEquals(candidate, toxic));
        }
    }

    /// <summary>Removes every toxic and, when down, brings the proxy back up.</summary>
    public void Heal()
    {
        lock (_listenerLock)
        {
            _toxics = [];
        }

        if (IsDown)
        {
            Up();
        }
    }

    /// <summary>Toxiproxy's "down": stops listening (new connections are refused) and resets the open ones.</summary>
    public void Down()
    {
        lock (_listenerLock)
        {
            IsDown = true;
            _listener?.Dispose();
            _listener = null;
        }

        foreach (var connection in _connections.Values)
        {
            connection.Reset();
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Up()
    {
        lock (_listenerLock)
        {
            if (!IsDown)
            {
                return;
            }

            Listen(Port);
            IsDown = false;
        }
    }

    /// <summary>Resets every open connection (RST both ways).</summary>
    public void ResetAll()
    {
        foreach (var connection in _connections.Values)
        {
            connection.Reset();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        lock (_listenerLock)
        {
            _listener?.Dispose();
            _listener = null;
        }

        foreach (var connection in _connections.Values)
        {
            connection.Reset();
        }

        _stopping.Dispose();
    }

    private void Listen(int port)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(512);
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        BaseAddress = new Uri($"http://127.0.0.1:{Port}/");
        _listener = listener;
        _ = AcceptLoopAsync(listener);
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var id = Interlocked.Increment(ref _connectionCount);
            var connection = new Connection(this, id, client, Interlocked.Increment(ref _seed));
            _connections[id] = connection;
            _ = connection.RunAsync();
        }
    }

    private sealed class Connection(FaultProxy proxy, int id, Socket client, int seed)
    {
        private readonly Socket _client = client;
        private readonly Socket _server = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private readonly CancellationTokenSource _cut = new();
        private readonly ConcurrentDictionary<Toxic, bool> _applies = new();
        private readonly Random _random = new(seed);
        private int _closed;

        public async Task RunAsync()
        {
            _client.NoDelay = true;
            try
            {
                await _server.ConnectAsync(proxy._target, _cut.Token).ConfigureAwait(false);
                var up = PumpAsync(_client, _server, ToxicStream.Upstream);
                var down = PumpAsync(_server, _client, ToxicStream.Downstream);
                await Task.WhenAll(up, down).ConfigureAwait(false);
                Close();
            }
#pragma warning disable CA1031 // a test proxy: any failure cuts the connection
            catch (Exception)
#pragma warning restore CA1031
            {
                Reset();
            }
            finally
            {
                proxy._connections.TryRemove(id, out _);
            }
        }

        /// <summary>Cuts the connection with RST on both sides (linger 0).</summary>
        public void Reset()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            _cut.Cancel();
            foreach (var socket in new[] { _client, _server })
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
#pragma warning disable CA1031
                catch (Exception)
#pragma warning restore CA1031
                {
                    // already closed
                }

                socket.Dispose();
            }
        }

        /// <summary>Closes both sides gracefully (FIN).</summary>
        private void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            _cut.Cancel();
            foreach (var socket in new[] { _client, _server })
            {
                try
                {
                    socket.Shutdown(SocketShutdown.Both);
                }
#pragma warning disable CA1031
                catch (Exception)
#pragma warning restore CA1031
                {
                    // already gone
                }

                socket.Dispose();
            }
        }

        private bool Applies(Toxic toxic)
        {
            if (toxic.Connections is { } filter && !filter(id))
            {
                return false;
            }

            return toxic.Toxicity >= 1 || _applies.GetOrAdd(toxic, t => Next() < t.Toxicity);
        }

        private double Next()
        {
            lock (_random)
            {
                return _random.NextDouble();
            }
        }

        private TimeSpan Jittered(TimeSpan value, TimeSpan jitter)
        {
            if (jitter <= TimeSpan.Zero)
            {
                return value;
            }

            var offset = ((Next() * 2) - 1) * jitter.TotalMilliseconds;
            return TimeSpan.FromMilliseconds(Math.Max(0, value.TotalMilliseconds + offset));
        }

        private async Task PumpAsync(Socket source, Socket destination, ToxicStream stream)
        {
            var token = _cut.Token;
            var buffer = new byte[16 * 1024];
            long passed = 0;
            var sawData = false;
            try
            {
                while (true)
                {
                    // A hold (timeout toxic) that is active before any data stops reading altogether.
                    if (await HoldIfTimedOutAsync(stream, passed, token).ConfigureAwait(false))
                    {
                        return;
                    }

                    var read = await source.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        await SlowCloseAsync(stream, passed, token).ConfigureAwait(false);
                        destination.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    if (!sawData)
                    {
                        sawData = true;
                        ScheduleTimedResets(stream, token);
                    }

                    var offset = 0;
                    while (offset < read)
                    {
                        var (count, action) = Plan(stream, passed, read - offset);
                        if (action == Action.Reset)
                        {
                            Reset();
                            return;
                        }

                        if (action == Action.Close)
                        {
                            Close();
                            return;
                        }

                        if (action == Action.Hold)
                        {
                            await HoldIfTimedOutAsync(stream, passed, token).ConfigureAwait(false);
                            return;
                        }

                        await DelayAsync(stream, passed, count, token).ConfigureAwait(false);
                        await destination.SendAsync(buffer.AsMemory(offset, count), SocketFlags.None, token).ConfigureAwait(false);
                        offset += count;
                        passed += count;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                // cut by Reset, Close or the proxy's disposal
            }
            catch (SocketException)
            {
                // one side reset: pass the reset on
                Reset();
            }
        }

        private enum Action
        {
            Forward,
            Close,
            Reset,
            Hold,
        }

        /// <summary>How many bytes to pass next, or what to do instead, given the toxics active now.</summary>
        private (int Count, Action Action) Plan(ToxicStream stream, long passed, int available)
        {
            var count = available;
            foreach (var toxic in proxy._toxics)
            {
                if (toxic.Stream != stream || !Applies(toxic))
                {
                    continue;
                }

                if (passed < toxic.AfterBytes)
                {
                    // Pass only up to where the toxic starts, then look again.
                    count = (int)Math.Min(count, toxic.AfterBytes - passed);
                    continue;
                }

                var sinceStart = passed - toxic.AfterBytes;
                switch (toxic.Kind)
                {
                    case ToxicKind.LimitData:
                        if (sinceStart >= toxic.Bytes)
                        {
                            return (0, Action.Close);
                        }

                        count = (int)Math.Min(count, toxic.Bytes - sinceStart);
                        break;
                    case ToxicKind.ResetPeer:
                        if (toxic.Bytes > 0)
                        {
                            if (sinceStart >= toxic.Bytes)
                            {
                                return (0, Action.Reset);
                            }

                            count = (int)Math.Min(count, toxic.Bytes - sinceStart);
                        }
                        else if (toxic.Timeout <= TimeSpan.Zero)
                        {
                            return (0, Action.Reset);
                        }

                        break;
                    case ToxicKind.Timeout:
                        return (0, Action.Hold);
                    case ToxicKind.Bandwidth:
                        count = Math.Min(count, Math.Max(1, toxic.RateKilobytesPerSecond * 1024 / 20));
                        break;
                    case ToxicKind.Slicer:
                        var variation = toxic.SliceVariation > 0 ? (int)(((Next() * 2) - 1) * toxic.SliceVariation) : 0;
                        count = Math.Min(count, Math.Max(1, toxic.SliceSize + variation));
                        break;
                }
            }

            return (count, Action.Forward);
        }

        private async Task DelayAsync(ToxicStream stream, long passed, int count, CancellationToken token)
        {
            var delay = TimeSpan.Zero;
            foreach (var toxic in proxy._toxics)
            {
                if (toxic.Stream != stream || passed < toxic.AfterBytes || !Applies(toxic))
                {
                    continue;
                }

                delay += toxic.Kind switch
                {
                    ToxicKind.Latency => Jittered(toxic.Latency, toxic.Jitter),
                    ToxicKind.Bandwidth => TimeSpan.FromSeconds(count / (toxic.RateKilobytesPerSecond * 1024.0)),
                    ToxicKind.Slicer => toxic.SliceDelay,
                    _ => TimeSpan.Zero,
                };
            }

            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
            }
        }

        /// <summary>When a timeout or timed reset toxic holds this direction: wait (reading nothing), then close or reset. Returns true when it held.</summary>
        private async Task<bool> HoldIfTimedOutAsync(ToxicStream stream, long passed, CancellationToken token)
        {
            foreach (var toxic in proxy._toxics)
            {
                if (toxic.Stream != stream || passed < toxic.AfterBytes || !Applies(toxic))
                {
                    continue;
                }

                if (toxic.Kind == ToxicKind.Timeout)
                {
                    await Task.Delay(toxic.Timeout > TimeSpan.Zero ? toxic.Timeout : System.Threading.Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
                    Close();
                    return true;
                }

            }

            return false;
        }

        /// <summary>A reset_peer by time: the connection is reset that long after the first data in its direction; data passes meanwhile.</summary>
        private void ScheduleTimedResets(ToxicStream stream, CancellationToken token)
        {
            foreach (var toxic in proxy._toxics)
            {
                if (toxic.Kind == ToxicKind.ResetPeer && toxic.Bytes == 0 && toxic.Timeout > TimeSpan.Zero && toxic.Stream == stream && Applies(toxic))
                {
                    _ = ResetLaterAsync(toxic.Timeout, token);
                }
            }
        }

        private async Task ResetLaterAsync(TimeSpan delay, CancellationToken token)
        {
            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
                Reset();
            }
            catch (OperationCanceledException)
            {
                // the connection ended first
            }
        }

        private async Task SlowCloseAsync(ToxicStream stream, long passed, CancellationToken token)
        {
            foreach (var toxic in proxy._toxics)
            {
                if (toxic.Kind == ToxicKind.SlowClose && toxic.Stream == stream && passed >= toxic.AfterBytes && Applies(toxic))
                {
                    await Task.Delay(toxic.Delay, token).ConfigureAwait(false);
                }
            }
        }
    }
}
