#pragma warning disable CA1822 // contract stub; the implementation replaces this file
namespace HardenedGateway;

/// <summary>The metric series of one proxy; obtained from <see cref="MetricsCollector.ForProxy"/>. Thread-safe and lock-free.</summary>
public sealed class ProxyMetrics
{
    internal ProxyMetrics(string proxyName) => ProxyName = proxyName;

    /// <summary>Gets the proxy name (the <c>proxy</c> label).</summary>
    public string ProxyName { get; }

    /// <summary>Counts a request as admitted and in flight (<c>hardened_gateway_active_requests</c> + 1).</summary>
    public void RequestStarted()
    {
    }

    /// <summary>Counts an admitted request as no longer in flight (<c>hardened_gateway_active_requests</c> - 1).</summary>
    public void RequestStopped()
    {
    }

    /// <summary>Records one finished request: requests_total by code, errors_total by reason, both histograms.</summary>
    /// <param name="statusCode">The status the client got; 499 when the client went away.</param>
    /// <param name="reason">Why it ended without a normal answer, or <see cref="GatewayErrorReason.None"/>.</param>
    /// <param name="duration">Arrival to end of response.</param>
    /// <param name="upstreamDuration">Send to upstream response headers; <see langword="null"/> if the upstream was not reached.</param>
    public void RecordRequest(int statusCode, GatewayErrorReason reason, TimeSpan duration, TimeSpan? upstreamDuration)
    {
        _ = statusCode;
        _ = reason;
        _ = duration;
        _ = upstreamDuration;
    }
}
