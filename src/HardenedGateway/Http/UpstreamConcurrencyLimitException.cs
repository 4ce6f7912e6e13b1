using System.Net;

namespace HardenedGateway;

/// <summary>The upstream's concurrency limit was reached (or the queue wait timed out); the call was not sent (429 on the proxy route).</summary>
#pragma warning disable CA1032 // see UpstreamRejectedException
public sealed class UpstreamConcurrencyLimitException : UpstreamRejectedException
#pragma warning restore CA1032
{
    /// <summary>Initializes a new instance of the <see cref="UpstreamConcurrencyLimitException"/> class.</summary>
    /// <param name="upstreamName">The upstream's name.</param>
    /// <param name="retryAfter">How long to wait before trying again.</param>
    public UpstreamConcurrencyLimitException(string upstreamName, TimeSpan retryAfter)
        : base(upstreamName, retryAfter, HttpStatusCode.TooManyRequests, $"The concurrency limit of upstream '{upstreamName}' is reached; retry after {retryAfter.TotalSeconds:0.###} s.")
    {
    }

    /// <inheritdoc />
    public override GatewayErrorReason Reason => GatewayErrorReason.ConcurrencyLimit;
}
