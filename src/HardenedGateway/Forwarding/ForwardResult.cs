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
/// <param name="StatusCode">The status the client got (499 when it went away).</param>
/// <param name="Reason">Why it did not end normally, or <see cref="GatewayErrorReason.None"/>.</param>
/// <param name="UpstreamDuration">Send to response headers; null when no headers arrived.</param>
/// <param name="Verdict">What the breaker learns.</param>
internal readonly record struct ForwardResult(int StatusCode, GatewayErrorReason Reason, TimeSpan? UpstreamDuration, UpstreamVerdict Verdict)
{
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
