using System.Net;

namespace HardenedGateway.Transport;

/// <summary>The TCP connect to an upstream did not complete within the dial timeout (FR-001).</summary>
internal sealed class UpstreamDialTimeoutException(DnsEndPoint endPoint, TimeSpan timeout)
    : TimeoutException($"Connecting to {endPoint.Host}:{endPoint.Port} timed out after {timeout.TotalMilliseconds:0} ms.");
