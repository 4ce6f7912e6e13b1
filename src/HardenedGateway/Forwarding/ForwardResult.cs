namespace HardenedGateway.Forwarding;

/// <summary>What the breaker should learn from an exchange.</summary>
internal enum UpstreamVerdict
{
    /// <summary>Neither: the client went away, or the upstream was never asked.</summary>
    None,

    /// <summary>The upstream answered (any status but 500, 502, 503, 504).</summary>
    Success,

    /// <summary>Unreachable, timeout, bad response, aborted mid-body, or 500/502/503/504.</summary>
    Failure,
}

/// <summary>The outcome of forwarding one request.</summary>
/// <param name="StatusCode">The status the client got (499 when it went away).</param>
/// <param name="Reason">Why it did not end normally, or <see cref="GatewayErrorReason.None"/>.</param>
/// <param name="UpstreamDuration">Send to response headers; null when no headers arrived.</param>
/// <param name="Verdict">What the breaker learns.</param>
internal readonly record struct ForwardResult(int StatusCode, GatewayErrorReason Reason, TimeSpan? UpstreamDuration, UpstreamVerdict Verdict);
