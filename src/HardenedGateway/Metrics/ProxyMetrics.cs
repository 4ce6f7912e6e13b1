using System.Diagnostics.CodeAnalysis;
using HardenedGateway.Metrics;

namespace HardenedGateway;

/// <summary>The metric series of one proxy; obtained from <see cref="MetricsCollector.ForProxy"/>. Thread-safe and lock-free.</summary>
/// <remarks>
/// Once a status code has been seen, <see cref="RecordRequest"/> allocates nothing and takes no lock:
/// every count is an <see cref="Interlocked"/> increment of a slot in an array (one block of 100 codes
/// per hundred, created on first use), and both histograms are arrays of bucket counts. The
/// <see cref="System.Diagnostics.Metrics.Meter"/> instruments are fed as well; their tags are built
/// only while a listener has enabled them.
/// </remarks>
public sealed class ProxyMetrics
{
    /// <summary>The lowest status code <see cref="RecordRequest"/> accepts.</summary>
    public const int MinStatusCode = 100;

    /// <summary>The highest status code <see cref="RecordRequest"/> accepts (HTTP status codes have three digits).</summary>
    public const int MaxStatusCode = 999;

    private const int CodesPerBlock = 100;

    // The reasons are numbered 0..n-1 without gaps, so a reason indexes its counter directly.
    private static readonly int ReasonCount = Enum.GetValues<GatewayErrorReason>().Length;

    private readonly GatewayInstruments? _instruments;
    private readonly long[]?[] _statusBlocks = new long[]?[(MaxStatusCode + 1 - MinStatusCode) / CodesPerBlock];
    private readonly long[] _errorCounts = new long[ReasonCount];
    private long _activeRequests;
    private long _activeTunnels;
    private volatile GaugeSources _gaugeSources;

    /// <summary>Initializes a standalone instance that belongs to no collector and feeds no meter (for tests of its users).</summary>
    internal ProxyMetrics(string proxyName)
        : this(proxyName, instruments: null, limiter: null, breaker: null)
    {
    }

    internal ProxyMetrics(string proxyName, GatewayInstruments? instruments, ConcurrencyLimiter? limiter, CircuitBreaker? breaker, IAdmissionGate? gate = null)
    {
        ProxyName = proxyName;
        LabelSet = "proxy=\"" + PrometheusTextBuilder.EscapeLabelValue(proxyName) + "\"";
        _instruments = instruments;
        _gaugeSources = new GaugeSources(limiter, breaker, gate);
    }

    /// <summary>Gets the proxy name (the <c>proxy</c> label).</summary>
    public string ProxyName { get; }

    /// <summary>Gets the number of requests admitted and in flight (<c>hardened_gateway_active_requests</c>).</summary>
    public long ActiveRequests => Volatile.Read(ref _activeRequests);

    /// <summary>Gets the number of WebSocket tunnels open through this proxy (<c>hardened_gateway_tunnels_active</c>), across configuration reloads.</summary>
    public long ActiveTunnels => Volatile.Read(ref _activeTunnels);

    /// <summary>Gets the Prometheus label set of this proxy, escaped: <c>proxy="name"</c>.</summary>
    internal string LabelSet { get; }

    /// <summary>Gets the limiter the gauges read when it limits anything; otherwise <see langword="null"/>.</summary>
    internal ConcurrencyLimiter? EnabledLimiter => _gaugeSources.Limiter is { IsEnabled: true } limiter ? limiter : null;

    /// <summary>Gets the <c>hardened_gateway_circuit_breaker_state</c> value: the breaker's state, 0 without a breaker.</summary>
    /// <summary>Gets the admission gate the cluster gauges read, or <see langword="null"/> when the proxy has none.</summary>
    internal IAdmissionGate? AdmissionGate => _gaugeSources.Gate;

    internal int CircuitStateValue => _gaugeSources.Breaker is { } breaker ? (int)breaker.State : (int)CircuitState.Closed;

    internal DurationHistogram RequestDuration { get; } = new();

    internal DurationHistogram UpstreamDuration { get; } = new();

    /// <summary>Counts a request as admitted and in flight (<c>hardened_gateway_active_requests</c> + 1).</summary>
    public void RequestStarted() => Interlocked.Increment(ref _activeRequests);

    /// <summary>Counts an admitted request as no longer in flight (<c>hardened_gateway_active_requests</c> - 1).</summary>
    public void RequestStopped() => Interlocked.Decrement(ref _activeRequests);

    /// <summary>
    /// Takes a tunnel slot if fewer than <paramref name="maxTunnels"/> are open. The count lives here, with the
    /// proxy's series, because the series outlives a reload: tunnels opened before a reload still count against the cap.
    /// </summary>
    internal bool TryStartTunnel(int maxTunnels)
    {
        var current = Volatile.Read(ref _activeTunnels);
        while (current < maxTunnels)
        {
            var seen = Interlocked.CompareExchange(ref _activeTunnels, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Gives back a tunnel slot taken by <see cref="TryStartTunnel"/>. Called exactly once per tunnel.</summary>
    internal void TunnelStopped() => Interlocked.Decrement(ref _activeTunnels);

    /// <summary>Records one finished request: requests_total by code, errors_total by reason, both histograms.</summary>
    /// <param name="statusCode">The status the client got; 499 when the client went away.</param>
    /// <param name="reason">Why it ended without a normal answer, or <see cref="GatewayErrorReason.None"/>.</param>
    /// <param name="duration">Arrival to end of response. A negative duration counts as zero.</param>
    /// <param name="upstreamDuration">Send to upstream response headers; <see langword="null"/> if the upstream was not reached. A negative duration counts as zero.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is not between <see cref="MinStatusCode"/> and
    /// <see cref="MaxStatusCode"/>, or <paramref name="reason"/> is not a defined value. Nothing is recorded then.</exception>
    public void RecordRequest(int statusCode, GatewayErrorReason reason, TimeSpan duration, TimeSpan? upstreamDuration)
    {
        if ((uint)(statusCode - MinStatusCode) > MaxStatusCode - MinStatusCode)
        {
            ThrowStatusCodeOutOfRange(statusCode);
        }

        if ((uint)reason >= (uint)ReasonCount)
        {
            ThrowReasonOutOfRange(reason);
        }

        duration = NotNegative(duration);
        upstreamDuration = upstreamDuration is { } upstream ? NotNegative(upstream) : null;

        var offset = statusCode - MinStatusCode;
        Interlocked.Increment(ref GetStatusBlock(offset / CodesPerBlock)[offset % CodesPerBlock]);
        if (reason != GatewayErrorReason.None)
        {
            Interlocked.Increment(ref _errorCounts[(int)reason]);
        }

        RequestDuration.Record(duration);
        if (upstreamDuration is { } reached)
        {
            UpstreamDuration.Record(reached);
        }

        _instruments?.RecordRequest(ProxyName, statusCode, reason, duration, upstreamDuration);
    }

    /// <summary>Points the gauges at a new limiter and breaker (configuration reload).</summary>
    internal void SetGaugeSources(ConcurrencyLimiter? limiter, CircuitBreaker? breaker, IAdmissionGate? gate = null)
    {
        var current = _gaugeSources;
        if (!ReferenceEquals(current.Limiter, limiter) || !ReferenceEquals(current.Breaker, breaker) || !ReferenceEquals(current.Gate, gate))
        {
            _gaugeSources = new GaugeSources(limiter, breaker, gate);
        }
    }

    /// <summary>Gets the count of one status code; 0 if it was never seen.</summary>
    internal long GetRequestCount(int statusCode)
    {
        var offset = statusCode - MinStatusCode;
        if ((uint)offset > MaxStatusCode - MinStatusCode)
        {
            return 0;
        }

        var block = Volatile.Read(ref _statusBlocks[offset / CodesPerBlock]);
        return block is null ? 0 : Volatile.Read(ref block[offset % CodesPerBlock]);
    }

    /// <summary>Gets the block of counters of one hundred (0 for 1xx); <see langword="null"/> until a code of it was seen.</summary>
    internal long[]? GetStatusBlockOrNull(int blockIndex) => Volatile.Read(ref _statusBlocks[blockIndex]);

    /// <summary>Gets the number of status-code blocks.</summary>
    internal int StatusBlockCount => _statusBlocks.Length;

    /// <summary>Gets how many finished requests got a status code from <paramref name="minStatusCode"/> to
    /// <paramref name="maxStatusCode"/> (both included): the sum of <c>hardened_gateway_requests_total</c> over those codes.</summary>
    /// <param name="minStatusCode">The lowest code counted; below <see cref="MinStatusCode"/> counts from there.</param>
    /// <param name="maxStatusCode">The highest code counted; above <see cref="MaxStatusCode"/> counts up to there.</param>
    /// <returns>The cumulative count; it only grows. Each code is read atomically, the sum is not a snapshot of all codes at one instant.</returns>
    /// <remarks>Reads without locking or allocating; a reader such as the status page takes deltas of it over time.</remarks>
    public long GetRequestCount(int minStatusCode, int maxStatusCode)
    {
        var first = Math.Max(minStatusCode, MinStatusCode) - MinStatusCode;
        var last = Math.Min(maxStatusCode, MaxStatusCode) - MinStatusCode;
        long total = 0;
        var offset = first;
        while (offset <= last)
        {
            var blockIndex = offset / CodesPerBlock;
            var blockEnd = Math.Min(last, ((blockIndex + 1) * CodesPerBlock) - 1);
            if (Volatile.Read(ref _statusBlocks[blockIndex]) is { } block)
            {
                for (var index = offset % CodesPerBlock; index <= blockEnd % CodesPerBlock; index++)
                {
                    total += Volatile.Read(ref block[index]);
                }
            }

            offset = blockEnd + 1;
        }

        return total;
    }

    /// <summary>Copies the per-bucket counts of <c>hardened_gateway_request_duration_seconds</c>: one count per bucket of
    /// <see cref="MetricsCollector.DurationBucketBoundaries"/> (each bucket counts the requests above the previous bound up to its
    /// own, not cumulatively), then the count above the last bound (+Inf).</summary>
    /// <param name="destination">Receives <see cref="MetricsCollector.DurationBucketBoundaries"/>.Count + 1 counts.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than that.</exception>
    /// <remarks>Reads without locking or allocating; a reader such as the status page takes deltas of it over time to estimate recent percentiles.</remarks>
    public void CopyRequestDurationBucketCounts(Span<long> destination)
    {
        var count = DurationHistogram.BucketCount;
        if (destination.Length < count)
        {
            throw new ArgumentException($"The destination holds fewer than {count} counts.", nameof(destination));
        }

        for (var index = 0; index < count; index++)
        {
            destination[index] = RequestDuration.GetBucketCount(index);
        }
    }

    /// <summary>Gets the count of one error reason.</summary>
    internal long GetErrorCount(GatewayErrorReason reason) => Volatile.Read(ref _errorCounts[(int)reason]);

    private static TimeSpan NotNegative(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;

    [DoesNotReturn]
    private static void ThrowStatusCodeOutOfRange(int statusCode) =>
        throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, $"A status code is between {MinStatusCode} and {MaxStatusCode}.");

    [DoesNotReturn]
    private static void ThrowReasonOutOfRange(GatewayErrorReason reason) =>
        throw new ArgumentOutOfRangeException(nameof(reason), reason, "The reason is not a defined GatewayErrorReason value.");

    private long[] GetStatusBlock(int blockIndex) => Volatile.Read(ref _statusBlocks[blockIndex]) ?? CreateStatusBlock(blockIndex);

    private long[] CreateStatusBlock(int blockIndex)
    {
        var created = new long[CodesPerBlock];
        return Interlocked.CompareExchange(ref _statusBlocks[blockIndex], created, null) ?? created;
    }

    /// <summary>The limiter and breaker read by the gauges, swapped as one so a reader never sees half a reload.</summary>
    private sealed record GaugeSources(ConcurrencyLimiter? Limiter, CircuitBreaker? Breaker, IAdmissionGate? Gate);
}
