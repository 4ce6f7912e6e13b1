namespace HardenedGateway;

/// <summary>Settings of a proxy's circuit breaker (FR-012, FR-014, NFR-006), bound from
/// <c>HardenedGateway:Proxies:&lt;name&gt;:CircuitBreaker</c>.</summary>
public sealed class CircuitBreakerOptions
{
    /// <summary>Gets or sets a value indicating whether the proxy has a circuit breaker.</summary>
    /// <value>The default is <see langword="false"/>: no breaker unless configured.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets how many consecutive failures open the circuit.</summary>
    /// <value>The default is 5. Allowed: 1 to 10,000.</value>
    public int FailureThreshold { get; set; } = 5;

    /// <summary>Gets or sets how long the circuit stays open before it admits probes (half-open).</summary>
    /// <value>The default is 30 seconds (NFR-006). Allowed: 1 ms to 24 hours.</value>
    public TimeSpan RecoveryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many probe requests the half-open circuit admits at once.</summary>
    /// <value>The default is 1. Allowed: 1 to 1,000.</value>
    public int HalfOpenRequests { get; set; } = 1;

    internal CircuitBreakerOptions Clone() => (CircuitBreakerOptions)MemberwiseClone();

    internal bool SameAs(CircuitBreakerOptions other) =>
        Enabled == other.Enabled && FailureThreshold == other.FailureThreshold &&
        RecoveryTimeout == other.RecoveryTimeout && HalfOpenRequests == other.HalfOpenRequests;
}
