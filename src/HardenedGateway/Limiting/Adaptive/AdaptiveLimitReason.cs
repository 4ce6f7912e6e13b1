namespace HardenedGateway.Limiting.Adaptive;

/// <summary>Why the adaptive controller moved the limit; logged with the change.</summary>
internal enum AdaptiveLimitReason
{
    /// <summary>Latency near the baseline with at least half the slots in use: room to grow.</summary>
    Growth,

    /// <summary>Recent latency rose above Tolerance times the baseline: requests queue in the upstream.</summary>
    LatencyAboveTolerance,

    /// <summary>Recent latency is above LatencyTarget.</summary>
    LatencyAboveTarget,

    /// <summary>The upstream failed (unreachable, timeout, bad response, 500/502/503/504).</summary>
    UpstreamFailure,

    /// <summary>No window near the baseline for a whole epoch: one window at the estimated knee re-measures it.</summary>
    BaselineProbe,
}
