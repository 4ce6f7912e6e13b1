#pragma warning disable CA1822 // contract stub; the implementation replaces this file
using System.Diagnostics.Metrics;

namespace HardenedGateway;

/// <summary>
/// The gateway's metrics (FR-018..FR-020): per-proxy counters, gauges and histograms, recorded
/// lock-free, published through the <see cref="Meter"/> named <see cref="MeterName"/>, and rendered
/// as Prometheus text 0.0.4 without any third-party package.
/// </summary>
public sealed class MetricsCollector : IDisposable
{
    /// <summary>The name of the <see cref="Meter"/>: <c>HardenedGateway</c>.</summary>
    public const string MeterName = "HardenedGateway";

    /// <summary>The content type of <see cref="WritePrometheusText"/>'s output.</summary>
    public const string PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Initializes a new instance of the <see cref="MetricsCollector"/> class.</summary>
    /// <param name="meterFactory">Creates the meter; <see langword="null"/> creates an unshared one.</param>
    /// <param name="bytesPool">The pool whose rent and fallback counts are published; <see langword="null"/> publishes zeros.</param>
    public MetricsCollector(IMeterFactory? meterFactory = null, BytesPool? bytesPool = null)
    {
        _ = meterFactory;
        _ = bytesPool;
    }

    /// <summary>Gets (creating on first use) the series of one proxy, and points its gauges at the given limiter and breaker.</summary>
    /// <param name="proxyName">The proxy (upstream) name.</param>
    /// <param name="limiter">The proxy's limiter, or <see langword="null"/> when it has none.</param>
    /// <param name="breaker">The proxy's breaker, or <see langword="null"/> when it has none.</param>
    /// <returns>The proxy's series handle; keep it and record through it.</returns>
    public ProxyMetrics ForProxy(string proxyName, ConcurrencyLimiter? limiter, CircuitBreaker? breaker) => new(proxyName);

    /// <summary>Removes a proxy's series (after a configuration reload removed the proxy).</summary>
    /// <param name="proxyName">The proxy name.</param>
    public void RemoveProxy(string proxyName) => _ = proxyName;

    /// <summary>Writes every series in Prometheus text format 0.0.4.</summary>
    /// <param name="writer">The destination.</param>
    public void WritePrometheusText(TextWriter writer) => ArgumentNullException.ThrowIfNull(writer);

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
