namespace HardenedGateway.Metrics;

/// <summary>
/// The metric names of DESIGN.md and their help texts. The <see cref="System.Diagnostics.Metrics.Meter"/>
/// instruments carry the same names as the Prometheus families, so a Prometheus or OpenTelemetry
/// exporter shows the same series whichever path a user takes.
/// </summary>
internal static class MetricNames
{
    public const string RequestsTotal = "hardened_gateway_requests_total";
    public const string RequestsTotalHelp = "Finished requests by the status the client got; a client abort counts as 499.";

    public const string ErrorsTotal = "hardened_gateway_errors_total";
    public const string ErrorsTotalHelp = "Requests that ended without a normal upstream answer, by reason.";

    public const string RequestDuration = "hardened_gateway_request_duration_seconds";
    public const string RequestDurationHelp = "Time from arrival to the end of the response, including the gateway's own answers.";

    public const string UpstreamDuration = "hardened_gateway_upstream_duration_seconds";
    public const string UpstreamDurationHelp = "Time from sending to the upstream to its response headers, for requests that reached the upstream.";

    public const string ActiveRequests = "hardened_gateway_active_requests";
    public const string ActiveRequestsHelp = "Requests admitted and in flight (queued ones not included).";

    public const string CircuitBreakerState = "hardened_gateway_circuit_breaker_state";
    public const string CircuitBreakerStateHelp = "Circuit breaker state: 0 closed, 1 open, 2 half-open (0 when the breaker is off).";

    public const string ConcurrencyLimit = "hardened_gateway_concurrency_limit";
    public const string ConcurrencyLimitHelp = "The most requests admitted at once (MaxConcurrent).";

    public const string ConcurrencyAvailable = "hardened_gateway_concurrency_available";
    public const string ConcurrencyAvailableHelp = "Free concurrency slots.";

    public const string QueueLength = "hardened_gateway_queue_length";
    public const string QueueLengthHelp = "Requests waiting for a concurrency slot.";

    public const string ClusterInFlight = "hardened_gateway_cluster_in_flight";
    public const string ClusterInFlightHelp = "Requests in flight to the upstream across all replicas, as last seen (cluster budget).";

    public const string ClusterDegraded = "hardened_gateway_cluster_degraded";
    public const string ClusterDegradedHelp = "1 while the proxy falls back to its local limit because the cluster coordinator (Redis) is unavailable.";
    public const string AdaptiveBaseline = "hardened_gateway_adaptive_baseline_seconds";
    public const string AdaptiveBaselineHelp = "No-load response-header latency the adaptive concurrency controller works from; only for proxies with adaptive concurrency.";

    public const string BufferPoolRentedTotal = "hardened_gateway_buffer_pool_rented_total";
    public const string BufferPoolRentedTotalHelp = "Body-copy buffers handed out by the pool, pooled or fallback.";

    public const string BufferPoolFallbackTotal = "hardened_gateway_buffer_pool_fallback_total";
    public const string BufferPoolFallbackTotalHelp = "Body-copy buffers allocated because the pool was empty (EC-005).";

    public const string TunnelsActive = "hardened_gateway_tunnels_active";
    public const string TunnelsActiveHelp = "WebSocket tunnels open through the proxy (WS-002).";

    public const string ProxyLabel = "proxy";
    public const string CodeLabel = "code";
    public const string ReasonLabel = "reason";

    public const string SecondsUnit = "s";
    public const string RequestUnit = "{request}";
    public const string BufferUnit = "{buffer}";
    public const string TunnelUnit = "{tunnel}";
}
