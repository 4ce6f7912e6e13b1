namespace HardenedGateway;

/// <summary>
/// Settings of a proxy's adaptive concurrency limit (AC-001, AC-002), bound from
/// <c>HardenedGateway:Proxies:&lt;name&gt;:AdaptiveConcurrency</c>. When enabled, the proxy's limit moves
/// by itself between <see cref="MinLimit"/> and <see cref="MaxLimit"/>, driven by the upstream's
/// response-header latency (time to first byte) and its failures, never by how long a streamed body lasts.
/// </summary>
/// <remarks>
/// <see cref="ProxyOptions.MaxConcurrent"/> must be 0 when this is enabled. Queueing
/// (<see cref="ProxyOptions.QueueTimeout"/>), 429 with <c>Retry-After</c>, typed clients and metrics work
/// exactly as with a static limit; the concurrency gauges report the current limit.
/// </remarks>
public sealed class AdaptiveConcurrencyOptions
{
    /// <summary>Gets or sets a value indicating whether the proxy's concurrency limit adapts by itself.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the floor: the limit never goes below it.</summary>
    /// <value>The default is 1. Allowed: 1 to 10,000.</value>
    public int MinLimit { get; set; } = 1;

    /// <summary>Gets or sets the ceiling: the upstream never sees more requests at once.</summary>
    /// <value>The default is 100. Allowed: <see cref="MinLimit"/> to 100,000.</value>
    public int MaxLimit { get; set; } = 100;

    /// <summary>Gets or sets the limit at start-up and after a reload that changes these settings.</summary>
    /// <value>The default (<see langword="null"/>) takes <see cref="MinLimit"/>. Allowed: <see cref="MinLimit"/> to <see cref="MaxLimit"/>.</value>
    public int? InitialLimit { get; set; }

    /// <summary>
    /// Gets or sets how far the recent response-header latency may rise above the no-load baseline
    /// before the limit shrinks, as a ratio (2.0: twice the baseline).
    /// </summary>
    /// <value>The default is 2.0. Allowed: 1.1 to 10.</value>
    public double Tolerance { get; set; } = 2.0;

    /// <summary>
    /// Gets or sets an optional service level: when above 0, the limit also shrinks while the recent
    /// response-header latency is above it.
    /// </summary>
    /// <value>The default is 0 (off). Allowed: 0 to 10 minutes.</value>
    public TimeSpan LatencyTarget { get; set; }

    /// <summary>Gets the limit at start-up: <see cref="InitialLimit"/>, or <see cref="MinLimit"/> when unset.</summary>
    internal int EffectiveInitialLimit => InitialLimit ?? MinLimit;

    internal AdaptiveConcurrencyOptions Clone() => (AdaptiveConcurrencyOptions)MemberwiseClone();

    internal bool SameAs(AdaptiveConcurrencyOptions other) =>
        Enabled == other.Enabled && MinLimit == other.MinLimit && MaxLimit == other.MaxLimit &&
        EffectiveInitialLimit == other.EffectiveInitialLimit && Tolerance.Equals(other.Tolerance) &&
        LatencyTarget == other.LatencyTarget;
}
