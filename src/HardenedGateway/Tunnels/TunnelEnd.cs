namespace HardenedGateway.Tunnels;

/// <summary>How a WebSocket tunnel ended: the <c>TunnelEnd</c> field of its log event.</summary>
internal enum TunnelEnd
{
    /// <summary>The client closed its connection (end of stream), usually after the WebSocket close handshake.</summary>
    ClientClosed,

    /// <summary>The upstream closed its connection (end of stream), usually after the WebSocket close handshake.</summary>
    UpstreamClosed,

    /// <summary>Reading from or writing to the client failed: it reset or vanished.</summary>
    ClientReset,

    /// <summary>Reading from or writing to the upstream failed: it reset or vanished.</summary>
    UpstreamReset,

    /// <summary>No bytes in either direction for <see cref="WebSocketTunnelOptions.IdleTimeout"/>.</summary>
    IdleTimeout,

    /// <summary>Open for <see cref="WebSocketTunnelOptions.MaxLifetime"/>.</summary>
    Lifetime,

    /// <summary>The host is shutting down (<c>IHostApplicationLifetime.ApplicationStopping</c>).</summary>
    Shutdown,
}

/// <summary>Labels and error reasons of <see cref="TunnelEnd"/>.</summary>
internal static class TunnelEndExtensions
{
    /// <summary>Gets the log value, such as <c>idle_timeout</c>; a cached string.</summary>
    public static string ToLabel(this TunnelEnd end) => end switch
    {
        TunnelEnd.ClientClosed => "client_closed",
        TunnelEnd.UpstreamClosed => "upstream_closed",
        TunnelEnd.ClientReset => "client_reset",
        TunnelEnd.UpstreamReset => "upstream_reset",
        TunnelEnd.IdleTimeout => "idle_timeout",
        TunnelEnd.Lifetime => "lifetime",
        _ => "shutdown",
    };

    /// <summary>
    /// The <c>errors_total</c> reason of a finished tunnel: the two timeouts have their own, a reset is
    /// an abort of the side that reset; a close by either side and a shutdown are normal ends.
    /// </summary>
    public static GatewayErrorReason ToErrorReason(this TunnelEnd end) => end switch
    {
        TunnelEnd.IdleTimeout => GatewayErrorReason.TunnelIdleTimeout,
        TunnelEnd.Lifetime => GatewayErrorReason.TunnelLifetime,
        TunnelEnd.ClientReset => GatewayErrorReason.ClientAborted,
        TunnelEnd.UpstreamReset => GatewayErrorReason.UpstreamAborted,
        _ => GatewayErrorReason.None,
    };
}
