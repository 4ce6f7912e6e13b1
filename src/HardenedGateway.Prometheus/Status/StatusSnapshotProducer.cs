using System.Buffers;
using System.Text.Json;

namespace HardenedGateway.Prometheus;

/// <summary>
/// Builds the status page's snapshot once per interval for every viewer: while at least one viewer
/// is subscribed, a timer samples every proxy's counters, writes one JSON snapshot and publishes it
/// as a ready-made server-sent event; viewers only copy those bytes to their connection. With no
/// viewer the timer is stopped and the windows are dropped.
/// </summary>
/// <remarks>
/// A slow viewer never holds the producer up or makes it queue anything: it simply gets the newest
/// snapshot when it asks again (the Hystrix dashboard's turbine stream works the same way).
/// </remarks>
internal sealed class StatusSnapshotProducer : IDisposable
{
    /// <summary>The interval: DESIGN.md asks for at least one event a second.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly HardenedProxyRegistry _registry;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _interval;
    private readonly Dictionary<string, ProxyLoadWindow> _windows = new(StringComparer.Ordinal);
    private readonly List<string> _removed = [];
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly Utf8JsonWriter _writer;
    private TaskCompletionSource<StatusSnapshot> _next = NewSource();
    private volatile StatusSnapshot? _latest;
    private ITimer? _timer;
    private int _viewers;
    private long _sequence;
    private bool _disposed;

    public StatusSnapshotProducer(HardenedProxyRegistry registry, TimeProvider timeProvider, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _registry = registry;
        _timeProvider = timeProvider;
        _interval = interval;
        _writer = new Utf8JsonWriter(_buffer);
    }

    /// <summary>Gets the number of subscribed viewers.</summary>
    public int ViewerCount => Volatile.Read(ref _viewers);

    /// <summary>Gets a value indicating whether the timer runs (at least one viewer).</summary>
    public bool IsRunning
    {
        get
        {
            lock (_lock)
            {
                return _timer is not null;
            }
        }
    }

    /// <summary>Adds a viewer; the first one starts the timer and gets a snapshot at once.</summary>
    /// <returns>Dispose it when the viewer leaves; the last one to leave stops the timer.</returns>
    public IDisposable Subscribe()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_viewers++ == 0)
            {
                PublishUnsynchronized();
                _timer = _timeProvider.CreateTimer(static state => ((StatusSnapshotProducer)state!).OnTimer(), this, _interval, _interval);
            }
        }

        return new Subscription(this);
    }

    /// <summary>Gets the first snapshot newer than <paramref name="seenSequence"/>: the latest one if it is, otherwise the next one published.</summary>
    public Task<StatusSnapshot> NextAsync(long seenSequence)
    {
        // Read the pending source before the latest snapshot: the producer sets the latest before it swaps
        // and completes the source, so either the latest is new enough or the source read completes with it.
        var next = Volatile.Read(ref _next);
        var latest = _latest;
        return latest is not null && latest.Sequence > seenSequence ? Task.FromResult(latest) : next.Task;
    }

    /// <summary>Takes one sample of every proxy and publishes the snapshot (the timer's work; tests and the benchmark call it directly).</summary>
    public StatusSnapshot Tick()
    {
        lock (_lock)
        {
            return PublishUnsynchronized();
        }
    }

    public void Dispose()
    {
        ITimer? timer;
        lock (_lock)
        {
            _disposed = true;
            timer = _timer;
            _timer = null;
            _writer.Dispose();
        }

        timer?.Dispose();
    }

    private static TaskCompletionSource<StatusSnapshot> NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void OnTimer()
    {
        lock (_lock)
        {
            if (_timer is not null)
            {
                PublishUnsynchronized();
            }
        }
    }

    private void Unsubscribe()
    {
        ITimer? timer = null;
        lock (_lock)
        {
            if (--_viewers == 0)
            {
                timer = _timer;
                _timer = null;
                _windows.Clear();
                _latest = null;
            }
        }

        timer?.Dispose();
    }

    private StatusSnapshot PublishUnsynchronized()
    {
        var sequence = ++_sequence;
        _buffer.ResetWrittenCount();
        _buffer.Write("data: "u8);
        _writer.Reset(_buffer);
        WriteSnapshotUnsynchronized(_writer, sequence, _timeProvider.GetTimestamp());
        _writer.Flush();
        _buffer.Write("\n\n"u8);
        var snapshot = new StatusSnapshot(sequence, _buffer.WrittenSpan.ToArray());

        _latest = snapshot;
        var published = _next;
        Volatile.Write(ref _next, NewSource());
        published.TrySetResult(snapshot);
        return snapshot;
    }

    /// <summary>
    /// Writes one snapshot: <c>{"sequence", "time", "intervalSeconds", "windowSeconds", "proxies": {name: object}}</c>.
    /// Each proxy's object is its admin object (<see cref="AdminEndpoints.WriteUpstream"/>, so every section the
    /// admin endpoint shows, such as <c>adaptive</c>, <c>cluster</c> or <c>tunnels</c>, is in the snapshot too) with
    /// the live figures of its <see cref="ProxyLoadWindow"/> added. A field only the page needs goes here.
    /// </summary>
    private void WriteSnapshotUnsynchronized(Utf8JsonWriter writer, long sequence, long timestamp)
    {
        writer.WriteStartObject();
        writer.WriteNumber("sequence", sequence);
        writer.WriteString("time", _timeProvider.GetUtcNow());
        writer.WriteNumber("intervalSeconds", _interval.TotalSeconds);
        writer.WriteNumber("windowSeconds", (_interval * ProxyLoadWindow.WindowIntervals).TotalSeconds);
        writer.WriteStartObject("proxies");
        foreach (var upstream in _registry.Upstreams)
        {
            var window = WindowUnsynchronized(upstream, sequence);
            window.Sample(timestamp);
            writer.WritePropertyName(upstream.Name);
            AdminEndpoints.WriteUpstream(writer, upstream, window);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        DropRemovedProxiesUnsynchronized(sequence);
    }

    private ProxyLoadWindow WindowUnsynchronized(HardenedUpstream upstream, long sequence)
    {
        if (!_windows.TryGetValue(upstream.Name, out var window) || !ReferenceEquals(window.Source, upstream.Metrics))
        {
            window = new ProxyLoadWindow(upstream.Metrics, _timeProvider);
            _windows[upstream.Name] = window;
        }

        window.LastSeenTick = sequence;
        return window;
    }

    private void DropRemovedProxiesUnsynchronized(long sequence)
    {
        foreach (var (name, window) in _windows)
        {
            if (window.LastSeenTick != sequence)
            {
                _removed.Add(name);
            }
        }

        foreach (var name in _removed)
        {
            _windows.Remove(name);
        }

        _removed.Clear();
    }

    private sealed class Subscription(StatusSnapshotProducer owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe();
            }
        }
    }
}
