using Microsoft.AspNetCore.Http;

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
/// <remarks>
/// 24 bytes rather than a record's 32 (a nullable <see cref="TimeSpan"/> pads to 16): it lives in the
/// forwarder's per-request state machine, so the missing duration is a sentinel instead.
/// </remarks>
internal readonly struct ForwardResult
{
    private const long NoDuration = long.MinValue;
    private readonly long _upstreamTicks;

    /// <summary>Initializes a new instance of the <see cref="ForwardResult"/> struct.</summary>
    /// <param name="statusCode">The status the client got (499 when it went away).</param>
    /// <param name="reason">Why it did not end normally, or <see cref="GatewayErrorReason.None"/>.</param>
    /// <param name="upstreamDuration">Send to response headers; null when no headers arrived.</param>
    /// <param name="verdict">What the breaker learns.</param>
    public ForwardResult(int statusCode, GatewayErrorReason reason, TimeSpan? upstreamDuration, UpstreamVerdict verdict)
    {
        StatusCode = statusCode;
        Reason = reason;
        _upstreamTicks = upstreamDuration?.Ticks ?? NoDuration;
        Verdict = verdict;
    }

    /// <summary>Gets the status the client got (499 when it went away).</summary>
    public int StatusCode { get; }

    /// <summary>Gets why it did not end normally, or <see cref="GatewayErrorReason.None"/>.</summary>
    public GatewayErrorReason Reason { get; }

    /// <summary>Gets the time from send to response headers; null when no headers arrived.</summary>
    public TimeSpan? UpstreamDuration => _upstreamTicks == NoDuration ? null : TimeSpan.FromTicks(_upstreamTicks);

    /// <summary>Gets what the breaker learns.</summary>
    public UpstreamVerdict Verdict { get; }

    /// <summary>
    /// The outcome of a send that failed with <paramref name="reason"/> (proxy route and tunnel alike): 499 and no
    /// verdict when the client went away, otherwise the reason's problem status and a breaker failure.
    /// </summary>
    public static ForwardResult SendFailed(GatewayErrorReason reason) =>
        reason == GatewayErrorReason.ClientAborted
            ? new ForwardResult(StatusCodes.Status499ClientClosedRequest, reason, null, UpstreamVerdict.None)
            : new ForwardResult(ProblemResponses.StatusFor(reason), reason, null, UpstreamVerdict.Failure);
}

/// <summary>Tells a breaker what an exchange taught it; shared by the proxy route and the typed-client handler.</summary>
internal static class UpstreamVerdictExtensions
{
    /// <summary>Success or failure is recorded; anything else abandons the permit (a probe frees its slot).</summary>
    public static void Record(this CircuitBreaker? breaker, CircuitPermit permit, UpstreamVerdict verdict)
    {
        switch (verdict)
        {
            case UpstreamVerdict.Success:
                breaker?.OnSuccess(permit);
                break;
            case UpstreamVerdict.Failure:
                breaker?.OnFailure(permit);
                break;
            default:
                breaker?.OnAbandoned(permit);
                break;
        }
    }
}
