namespace HardenedGateway;

/// <summary>
/// Why a request ended without a normal upstream answer. Each value is the <c>reason</c> label of
/// <c>hardened_gateway_errors_total</c> (see <see cref="GatewayErrorReasonExtensions.ToLabel"/>).
/// </summary>
public enum GatewayErrorReason
{
    /// <summary>No error: the upstream answered and the answer was passed on in full.</summary>
    None = 0,

    /// <summary>429: the concurrency limit was reached, or the queue wait timed out (<c>concurrency_limit</c>).</summary>
    ConcurrencyLimit,

    /// <summary>503: the circuit is open, or half-open with every probe slot taken (<c>circuit_open</c>).</summary>
    CircuitOpen,

    /// <summary>502: the upstream refused, reset or closed before headers, or did not resolve (<c>upstream_unreachable</c>).</summary>
    UpstreamUnreachable,

    /// <summary>504: the dial or the response-header timeout fired (<c>upstream_timeout</c>).</summary>
    UpstreamTimeout,

    /// <summary>502: the upstream's answer was not valid HTTP (<c>bad_upstream_response</c>, EC-004).</summary>
    BadUpstreamResponse,

    /// <summary>501: an <c>Upgrade</c> request, which is not proxied (<c>upgrade_rejected</c>, EC-003).</summary>
    UpgradeRejected,

    /// <summary>400: the path would climb above the upstream's base path (<c>invalid_path</c>).</summary>
    InvalidPath,

    /// <summary>The upstream failed or went idle after the response started; the client connection was aborted (<c>upstream_aborted</c>).</summary>
    UpstreamAborted,

    /// <summary>The client went away; nothing was written (<c>client_aborted</c>, counted as code 499).</summary>
    ClientAborted,

    /// <summary>429: the proxy's open WebSocket tunnels reached <see cref="WebSocketTunnelOptions.MaxConnections"/> (<c>tunnel_limit</c>).</summary>
    TunnelLimit,

    /// <summary>A tunnel carried no bytes in either direction for <see cref="WebSocketTunnelOptions.IdleTimeout"/> and was closed (<c>tunnel_idle_timeout</c>).</summary>
    TunnelIdleTimeout,

    /// <summary>A tunnel reached <see cref="WebSocketTunnelOptions.MaxLifetime"/> and was closed (<c>tunnel_lifetime</c>).</summary>
    TunnelLifetime,
}
