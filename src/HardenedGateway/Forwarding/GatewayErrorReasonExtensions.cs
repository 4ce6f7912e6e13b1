namespace HardenedGateway;

/// <summary>Conversions of <see cref="GatewayErrorReason"/>.</summary>
public static class GatewayErrorReasonExtensions
{
    /// <summary>Gets the metric label and log value of a reason, such as <c>concurrency_limit</c>; empty for <see cref="GatewayErrorReason.None"/>.</summary>
    /// <param name="reason">The reason.</param>
    /// <returns>The label; a cached string, never allocated.</returns>
    public static string ToLabel(this GatewayErrorReason reason) => reason switch
    {
        GatewayErrorReason.ConcurrencyLimit => "concurrency_limit",
        GatewayErrorReason.CircuitOpen => "circuit_open",
        GatewayErrorReason.UpstreamUnreachable => "upstream_unreachable",
        GatewayErrorReason.UpstreamTimeout => "upstream_timeout",
        GatewayErrorReason.BadUpstreamResponse => "bad_upstream_response",
        GatewayErrorReason.UpgradeRejected => "upgrade_rejected",
        GatewayErrorReason.InvalidPath => "invalid_path",
        GatewayErrorReason.UpstreamAborted => "upstream_aborted",
        GatewayErrorReason.ClientAborted => "client_aborted",
        GatewayErrorReason.TunnelLimit => "tunnel_limit",
        GatewayErrorReason.TunnelIdleTimeout => "tunnel_idle_timeout",
        GatewayErrorReason.TunnelLifetime => "tunnel_lifetime",
        _ => string.Empty,
    };
}
