namespace HardenedGateway.Metrics;

/// <summary>The per-proxy gauges, shared by the Prometheus renderer and the meter's callbacks.</summary>
internal enum ProxyGauge
{
    ActiveRequests,
    CircuitBreakerState,
    ConcurrencyLimit,
    ConcurrencyAvailable,
    QueueLength,
    ClusterInFlight,
    ClusterDegraded,
    TunnelsActive,
}
