using System.Net.Http;

namespace HardenedGateway.Forwarding;

/// <summary>
/// Maps a failed upstream call to its reason (DESIGN.md "Responses the gateway itself produces").
/// One classifier serves the proxy route and the typed-client handler alike.
/// </summary>
internal static class OutcomeClassifier
{
    /// <summary>Classifies an exception thrown while sending to the upstream and waiting for its headers.</summary>
    /// <param name="error">What was thrown.</param>
    /// <param name="clientCanceled">The caller (client) cancelled.</param>
    /// <param name="gatewayTimeoutFired">The gateway's own response-header (or idle) timer fired.</param>
    public static GatewayErrorReason ClassifySendFailure(Exception error, bool clientCanceled, bool gatewayTimeoutFired)
    {
        if (clientCanceled)
        {
            return GatewayErrorReason.ClientAborted;
        }

        if (gatewayTimeoutFired || HasInner<TimeoutException>(error))
        {
            return GatewayErrorReason.UpstreamTimeout;
        }

        // ConfigurationLimitExceeded: the response head is over the transport's header limit (DESIGN.md:
        // "response headers over the transport's limit" is a bad response, not an unreachable upstream).
        if (error is HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded })
        {
            return GatewayErrorReason.BadUpstreamResponse;
        }

        return GatewayErrorReason.UpstreamUnreachable;
    }

    /// <summary>True for upstream statuses that count as breaker failures: 500, 502, 503, 504.</summary>
    public static bool IsFailureStatus(int statusCode) => statusCode is 500 or 502 or 503 or 504;

    private static bool HasInner<T>(Exception error)
        where T : Exception
    {
        for (var current = error; current is not null; current = current.InnerException)
        {
            if (current is T)
            {
                return true;
            }
        }

        return false;
    }
}
