namespace HardenedGateway;

/// <summary>
/// A proxy's share in a cluster-wide budget and breaker, bound from
/// <c>HardenedGateway:Proxies:&lt;name&gt;:Cluster</c>. These settings take effect only with a
/// coordination package such as <c>HardenedGateway.Redis</c>; without one they change nothing.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>
    /// Gets or sets the most requests in flight to this upstream across all replicas (CL-001); 0 means
    /// no cluster budget. The local limit always applies as well, and a proxy with a cluster budget
    /// must have one, since it is what protects the upstream while the coordinator is away.
    /// </summary>
    /// <value>The default is 0. Allowed: 0 to 100,000.</value>
    public int MaxConcurrent { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the breaker's verdict is shared by every replica (CL-004):
    /// a trip on one opens all for the time left, half-open probes are counted cluster-wide, and a
    /// probe success closes all.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool ShareCircuitBreaker { get; set; }

    internal ClusterOptions Clone() => (ClusterOptions)MemberwiseClone();

    internal bool SameAs(ClusterOptions other) =>
        MaxConcurrent == other.MaxConcurrent && ShareCircuitBreaker == other.ShareCircuitBreaker;
}
