namespace HardenedGateway;

/// <summary>
/// One proxied upstream, bound from <c>HardenedGateway:Proxies:&lt;name&gt;</c>. The name (the
/// dictionary key) names the upstream everywhere: metrics, logs, admin endpoints and typed clients.
/// </summary>
public sealed class ProxyOptions
{
    /// <summary>Gets or sets the path prefix served by this proxy, such as <c>/api/ai</c>. It matches whole segments.</summary>
    /// <value>Required. Starts with <c>/</c>, has no trailing <c>/</c>, and is neither equal to nor nested in another proxy's prefix.</value>
    public string? PathPrefix { get; set; }

    /// <summary>Gets or sets the upstream's base URI, such as <c>http://127.0.0.1:8000/</c>.</summary>
    /// <value>Required. An absolute <c>http</c> or <c>https</c> URI without query or fragment.</value>
    public string? Upstream { get; set; }

    /// <summary>
    /// Gets or sets how long to wait for the upstream's response headers; <see cref="TimeSpan.Zero"/>
    /// waits for ever (EC-001, FR-004: AI inference can take minutes).
    /// </summary>
    /// <value>The default (<see langword="null"/>) takes <see cref="TransportOptions.ResponseHeaderTimeout"/>. Allowed: 0 to 24 hours.</value>
    public TimeSpan? ResponseHeaderTimeout { get; set; }

    /// <summary>
    /// Gets or sets how long a streamed body may stay silent before the exchange is ended; every read
    /// and write restarts the clock, so a slow but alive token stream is never cut. <see cref="TimeSpan.Zero"/> turns it off.
    /// </summary>
    /// <value>The default is 0 (off). Allowed: 0 to 24 hours.</value>
    public TimeSpan StreamIdleTimeout { get; set; }

    /// <summary>Gets or sets the most requests in flight to this upstream (FR-008); 0 means no limiter.</summary>
    /// <value>The default is 0. Allowed: 0 to 100,000.</value>
    public int MaxConcurrent { get; set; }

    /// <summary>
    /// Gets or sets how long a request waits for a free slot when the limit is reached; 0 rejects at
    /// once with 429.
    /// </summary>
    /// <value>The default is 0. Allowed: 0 to 10 minutes.</value>
    public TimeSpan QueueTimeout { get; set; }

    /// <summary>Gets or sets the <c>Retry-After</c> seconds sent with a 429 (FR-011).</summary>
    /// <value>The default is 1. Allowed: 1 to 3,600.</value>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Gets or sets the circuit breaker settings (FR-012).</summary>
    public CircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>Gets or sets the proxy's share in a cluster-wide budget and breaker (CL-001..CL-004); used only with a coordination package such as <c>HardenedGateway.Redis</c>.</summary>
    public ClusterOptions Cluster { get; set; } = new();
    /// <summary>Gets or sets the WebSocket tunnel settings (WS-001, WS-002); off by default.</summary>
    public WebSocketTunnelOptions WebSockets { get; set; } = new();
    /// <summary>Gets or sets the adaptive concurrency settings (AC-001, AC-002); off by default.</summary>
    public AdaptiveConcurrencyOptions AdaptiveConcurrency { get; set; } = new();

    internal ProxyOptions Clone()
    {
        var copy = (ProxyOptions)MemberwiseClone();
        copy.CircuitBreaker = CircuitBreaker.Clone();
        copy.Cluster = Cluster.Clone();
        copy.WebSockets = WebSockets.Clone();
        copy.AdaptiveConcurrency = AdaptiveConcurrency.Clone();
        return copy;
    }
}
