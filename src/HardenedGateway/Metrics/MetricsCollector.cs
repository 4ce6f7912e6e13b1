using System.Buffers;
using System.Diagnostics.Metrics;
using HardenedGateway.Metrics;

namespace HardenedGateway;

/// <summary>
/// The gateway's metrics (FR-018..FR-020): per-proxy counters, gauges and histograms, recorded
/// lock-free, published through the <see cref="Meter"/> named <see cref="MeterName"/>, and rendered
/// as Prometheus text 0.0.4 without any third-party package.
/// </summary>
/// <remarks>
/// <para>
/// Every <see cref="Meter"/> instrument has the name of its Prometheus family, so an OpenTelemetry or
/// Prometheus exporter of the meter shows the same series as <see cref="WritePrometheusText"/>:
/// the counters <c>hardened_gateway_requests_total</c> (tags <c>proxy</c>, <c>code</c> as an
/// <see cref="int"/>) and <c>hardened_gateway_errors_total</c> (<c>proxy</c>, <c>reason</c>); the
/// histograms <c>hardened_gateway_request_duration_seconds</c> and
/// <c>hardened_gateway_upstream_duration_seconds</c> (<c>proxy</c>; unit <c>s</c>; bucket advice
/// <see cref="DurationBucketBoundaries"/>); the observable gauges <c>hardened_gateway_active_requests</c>,
/// <c>hardened_gateway_circuit_breaker_state</c>, <c>hardened_gateway_concurrency_limit</c>,
/// <c>hardened_gateway_concurrency_available</c> and <c>hardened_gateway_queue_length</c>
/// (<c>proxy</c>); the observable gauge <c>hardened_gateway_tunnels_active</c> (<c>proxy</c>, open WebSocket tunnels); and the observable counters <c>hardened_gateway_buffer_pool_rented_total</c> and
/// <c>hardened_gateway_buffer_pool_fallback_total</c> (no tags).
/// </para>
/// <para>
/// Proxies are held in a copy-on-write snapshot sorted by name, so <see cref="ForProxy"/> and
/// <see cref="RemoveProxy"/> may race with rendering and with the meter's callbacks; a render sees
/// each proxy either wholly or not at all.
/// </para>
/// </remarks>
public sealed partial class MetricsCollector : IDisposable
{
    /// <summary>The name of the <see cref="Meter"/>: <c>HardenedGateway</c>.</summary>
    public const string MeterName = "HardenedGateway";

    /// <summary>The content type of <see cref="WritePrometheusText"/>'s output.</summary>
    public const string PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly Lock _registryLock = new();
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly BytesPool? _bytesPool;
    private readonly GatewayInstruments _instruments;
    private volatile ProxyRegistry _registry = ProxyRegistry.Empty;

    /// <summary>Initializes a new instance of the <see cref="MetricsCollector"/> class.</summary>
    /// <param name="meterFactory">Creates the meter; <see langword="null"/> creates an unshared one.</param>
    /// <param name="bytesPool">The pool whose rent and fallback counts are published; <see langword="null"/> publishes zeros.</param>
    public MetricsCollector(IMeterFactory? meterFactory = null, BytesPool? bytesPool = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory is null ? new Meter(MeterName) : meterFactory.Create(new MeterOptions(MeterName));
        _bytesPool = bytesPool;
        _instruments = new GatewayInstruments(_meter);
        CreateObservableInstruments();
    }

    /// <summary>Gets the meter the instruments belong to.</summary>
    internal Meter Meter => _meter;

    /// <summary>Gets the upper bounds in seconds of both duration histograms' finite buckets:
    /// 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 and 10 (a +Inf bucket follows).</summary>
    public static IReadOnlyList<double> DurationBucketBoundaries => DurationHistogram.Boundaries;

    /// <summary>Gets (creating on first use) the series of one proxy, and points its gauges at the given limiter and breaker.</summary>
    /// <param name="proxyName">The proxy (upstream) name.</param>
    /// <param name="limiter">The proxy's limiter, or <see langword="null"/> when it has none.</param>
    /// <param name="breaker">The proxy's breaker, or <see langword="null"/> when it has none.</param>
    /// <returns>The proxy's series handle; keep it and record through it. A second call with the same name
    /// returns the same instance, its counts kept, with its gauges re-pointed (configuration reload).</returns>
    /// <exception cref="ArgumentException"><paramref name="proxyName"/> is <see langword="null"/> or empty.</exception>
    public ProxyMetrics ForProxy(string proxyName, ConcurrencyLimiter? limiter, CircuitBreaker? breaker) => ForProxyWithGate(proxyName, limiter, breaker, gate: null);

    /// <summary>As the public overload, with the admission gate the cluster gauges read.</summary>
    internal ProxyMetrics ForProxyWithGate(string proxyName, ConcurrencyLimiter? limiter, CircuitBreaker? breaker, IAdmissionGate? gate)
    {
        ArgumentException.ThrowIfNullOrEmpty(proxyName);

        if (_registry.TryGet(proxyName, out var existing))
        {
            existing.SetGaugeSources(limiter, breaker, gate);
            return existing;
        }

        lock (_registryLock)
        {
            var registry = _registry;
            if (registry.TryGet(proxyName, out existing))
            {
                existing.SetGaugeSources(limiter, breaker, gate);
                return existing;
            }

            var created = new ProxyMetrics(proxyName, _instruments, limiter, breaker, gate);
            _registry = registry.With(created);
            return created;
        }
    }

    /// <summary>Removes a proxy's series (after a configuration reload removed the proxy).</summary>
    /// <param name="proxyName">The proxy name.</param>
    /// <remarks>A <see cref="ProxyMetrics"/> kept by a request still in flight stays usable; what it records is no longer rendered.
    /// A later <see cref="ForProxy"/> with the name starts from zero.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="proxyName"/> is <see langword="null"/>.</exception>
    public void RemoveProxy(string proxyName)
    {
        ArgumentNullException.ThrowIfNull(proxyName);
        lock (_registryLock)
        {
            _registry = _registry.Without(proxyName);
        }
    }

    /// <summary>Writes every series in Prometheus text format 0.0.4 (<see cref="PrometheusContentType"/>).</summary>
    /// <param name="writer">The destination.</param>
    /// <remarks>Families appear in the order of DESIGN.md, proxies in ordinal order of their names, codes in ascending order.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is <see langword="null"/>.</exception>
    public void WritePrometheusText(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var builder = new PrometheusTextBuilder(writer);
        Render(builder);
    }

    /// <summary>Writes every series in Prometheus text format 0.0.4, UTF-8 encoded, for example to an
    /// <c>HttpResponse.BodyWriter</c>: no synchronous I/O and no intermediate string (flush the writer afterwards).
    /// The output is that of <see cref="WritePrometheusText"/>.</summary>
    /// <param name="writer">The destination.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is <see langword="null"/>.</exception>
    public void WritePrometheusTextUtf8(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var builder = new PrometheusTextBuilder(writer);
        Render(builder);
    }

    /// <summary>Renders every series in Prometheus text format 0.0.4 as one string.</summary>
    /// <returns>The text that <see cref="WritePrometheusText"/> writes.</returns>
    public string RenderPrometheusText()
    {
        using var writer = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        WritePrometheusText(writer);
        return writer.ToString();
    }

    /// <summary>Disposes the meter when this instance created it; a meter from an <see cref="IMeterFactory"/> belongs to the factory.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
