namespace HardenedGateway;

/// <summary>
/// Settings of the one shared upstream transport (<see cref="HardenedTransport"/>), bound from the
/// configuration section <c>HardenedGateway:Transport</c>.
/// </summary>
/// <remarks>
/// Each property names the knob of the original Go specification (<c>net.Dialer</c> and
/// <c>http.Transport</c>) it replaces and the <see cref="System.Net.Http.SocketsHttpHandler"/>
/// setting it maps to.
/// </remarks>
public sealed class TransportOptions
{
    /// <summary>
    /// Gets or sets how long establishing the TCP connection (the dial) may take (FR-001).
    /// </summary>
    /// <value>The default is 2 seconds. Allowed: 1 ms to 5 minutes.</value>
    /// <remarks>Go: <c>net.Dialer.Timeout</c>. .NET: enforced inside the handler's <c>ConnectCallback</c>.</remarks>
    public TimeSpan DialTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets how long the TLS handshake may take after the TCP connection is up.</summary>
    /// <value>The default is 5 seconds. Allowed: 1 ms to 5 minutes.</value>
    /// <remarks>
    /// Go: <c>http.Transport.TLSHandshakeTimeout</c>. .NET has no separate TLS timeout:
    /// <c>SocketsHttpHandler.ConnectTimeout</c> covers dial and handshake together, so it is set to
    /// <see cref="DialTimeout"/> + <see cref="TlsHandshakeTimeout"/> while the dial keeps its own limit.
    /// </remarks>
    public TimeSpan TlsHandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the TCP keep-alive idle time and probe interval of upstream connections.</summary>
    /// <value>The default is 30 seconds. Allowed: 1 second to 2 hours.</value>
    /// <remarks>Go: <c>net.Dialer.KeepAlive</c>. .NET: <c>TCP_KEEPIDLE</c>/<c>TCP_KEEPINTVL</c> set on the socket in <c>ConnectCallback</c>.</remarks>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long to wait for the upstream's response headers after the request was sent
    /// (FR-002). <see cref="TimeSpan.Zero"/> means no limit. A proxy can override it
    /// (<see cref="ProxyOptions.ResponseHeaderTimeout"/>).
    /// </summary>
    /// <value>The default is 30 seconds. Allowed: 0 (no limit) to 24 hours.</value>
    /// <remarks>
    /// Go: <c>http.Transport.ResponseHeaderTimeout</c>. .NET has no such handler setting; a per-request
    /// timer is started when the request is sent and stopped when the headers arrive, so a long
    /// streamed body is never cut by it.
    /// </remarks>
    public TimeSpan ResponseHeaderTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long an idle pooled connection is kept before it is closed (FR-003).</summary>
    /// <value>The default is 90 seconds. Allowed: 1 second to 24 hours.</value>
    /// <remarks>Go: <c>http.Transport.IdleConnTimeout</c>. .NET: <c>SocketsHttpHandler.PooledConnectionIdleTimeout</c>.</remarks>
    public TimeSpan IdleConnectionTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Gets or sets how long to wait for <c>100 Continue</c> before sending a request body anyway.</summary>
    /// <value>The default is 1 second. Allowed: 0 to 1 minute.</value>
    /// <remarks>Go: <c>http.Transport.ExpectContinueTimeout</c>. .NET: <c>SocketsHttpHandler.Expect100ContinueTimeout</c>.</remarks>
    public TimeSpan ExpectContinueTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets the longest time a pooled connection is reused, so DNS changes are picked up and
    /// load spreads over new upstream instances.
    /// </summary>
    /// <value>The default is 5 minutes. Allowed: 1 second to 24 hours.</value>
    /// <remarks>Go has no equivalent (it keeps connections until idle). .NET: <c>SocketsHttpHandler.PooledConnectionLifetime</c>.</remarks>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets a value indicating whether HTTP/2 is attempted with upstreams that offer it over TLS (FR-007).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// Go: <c>http.Transport.ForceAttemptHTTP2</c>. .NET: outbound requests ask for HTTP/2 with
    /// <c>HttpVersionPolicy.RequestVersionOrLower</c>; plain-text upstreams stay on HTTP/1.1 (no h2c
    /// without prior knowledge).
    /// </remarks>
    public bool EnableHttp2 { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether the system or environment proxy (<c>HTTP_PROXY</c>, <c>HTTPS_PROXY</c>, <c>NO_PROXY</c>) is used.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>Go: <c>http.ProxyFromEnvironment</c>. .NET: <c>SocketsHttpHandler.UseProxy</c> with the default proxy.</remarks>
    public bool UseSystemProxy { get; set; } = true;

    internal TransportOptions Clone() => (TransportOptions)MemberwiseClone();
}
