namespace HardenedGateway;

/// <summary>
/// Settings of a proxy's WebSocket tunnels (WS-001, WS-002), bound from
/// <c>HardenedGateway:Proxies:&lt;name&gt;:WebSockets</c>. Off by default: an <c>Upgrade</c> request then gets 501 (EC-003).
/// </summary>
public sealed class WebSocketTunnelOptions
{
    /// <summary>Gets or sets a value indicating whether WebSocket upgrades (HTTP/1.1 <c>Upgrade: websocket</c> and
    /// HTTP/2 extended CONNECT with <c>:protocol websocket</c>) are tunnelled to the upstream.</summary>
    /// <value>The default is <see langword="false"/>: upgrades get 501.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the most tunnels open through this proxy at once; the next upgrade gets 429
    /// (<c>tunnel_limit</c>, <c>Retry-After</c>) before any 101.</summary>
    /// <value>The default is 100. Allowed: 1 to 100,000.</value>
    public int MaxConnections { get; set; } = 100;

    /// <summary>Gets or sets how long a tunnel may carry no bytes in either direction before it is closed;
    /// bytes of any frame (data, ping, pong, close) count. <see cref="TimeSpan.Zero"/> turns it off.</summary>
    /// <value>The default is 5 minutes. Allowed: 0 to 24 hours.</value>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets how long a tunnel may stay open in all; <see cref="TimeSpan.Zero"/> turns it off.</summary>
    /// <value>The default is 0 (off). Allowed: 0 to 7 days.</value>
    public TimeSpan MaxLifetime { get; set; }

    internal WebSocketTunnelOptions Clone() => (WebSocketTunnelOptions)MemberwiseClone();

    internal bool SameAs(WebSocketTunnelOptions other) =>
        Enabled == other.Enabled && MaxConnections == other.MaxConnections &&
        IdleTimeout == other.IdleTimeout && MaxLifetime == other.MaxLifetime;
}
