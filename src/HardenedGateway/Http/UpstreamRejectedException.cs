using System.Net;

namespace HardenedGateway;

/// <summary>
/// Thrown by a hardened typed <see cref="HttpClient"/> when the upstream's protection refused the call
/// before it was sent. Catch this type for every cause, or a derived type for one cause.
/// </summary>
/// <remarks>
/// It derives from <see cref="HttpRequestException"/>, so code (and retry policies) that already
/// handle failed HTTP calls handle it too. <see cref="HttpRequestException.StatusCode"/> carries the
/// status the proxy route would have answered with (429 or 503).
/// </remarks>
#pragma warning disable CA1032 // the data (upstream, retry-after) is required; the parameterless constructors would make it meaningless
public abstract class UpstreamRejectedException : HttpRequestException
#pragma warning restore CA1032
{
    /// <summary>Initializes a new instance of the <see cref="UpstreamRejectedException"/> class.</summary>
    /// <param name="upstreamName">The upstream's name.</param>
    /// <param name="retryAfter">How long to wait before trying again.</param>
    /// <param name="statusCode">The status the proxy route answers with for this cause.</param>
    /// <param name="message">The message.</param>
    protected UpstreamRejectedException(string upstreamName, TimeSpan retryAfter, HttpStatusCode statusCode, string message)
        : base(HttpRequestError.Unknown, message, inner: null, statusCode)
    {
        UpstreamName = upstreamName;
        RetryAfter = retryAfter;
    }

    /// <summary>Gets the name of the upstream that refused the call.</summary>
    public string UpstreamName { get; }

    /// <summary>Gets how long to wait before trying again (the <c>Retry-After</c> of the proxy route).</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>Gets the reason, as in the <c>hardened_gateway_errors_total</c> metric.</summary>
    public abstract GatewayErrorReason Reason { get; }
}
