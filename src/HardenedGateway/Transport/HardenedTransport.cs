using System.Net;
using System.Net.Sockets;
using HardenedGateway.Transport;

namespace HardenedGateway;

/// <summary>
/// Builds the one shared, hardened <see cref="SocketsHttpHandler"/> through which every proxy and
/// every hardened typed client reaches its upstream (FR-001..FR-007).
/// </summary>
/// <remarks>
/// <para>How the knobs of the original Go specification map to .NET:</para>
/// <list type="table">
/// <listheader><term>Go</term><description>.NET</description></listheader>
/// <item><term><c>Dialer.Timeout</c> 2 s</term><description>a timeout inside <see cref="SocketsHttpHandler.ConnectCallback"/> (<see cref="TransportOptions.DialTimeout"/>).</description></item>
/// <item><term><c>Dialer.KeepAlive</c> 30 s</term><description>TCP keep-alive socket options set in the same callback.</description></item>
/// <item><term><c>TLSHandshakeTimeout</c> 5 s</term><description><see cref="SocketsHttpHandler.ConnectTimeout"/> = dial + TLS, since .NET times the whole connect.</description></item>
/// <item><term><c>ResponseHeaderTimeout</c> 30 s</term><description>a per-request timer stopped when the headers arrive (the forwarder and the typed-client handler).</description></item>
/// <item><term><c>IdleConnTimeout</c> 90 s</term><description><see cref="SocketsHttpHandler.PooledConnectionIdleTimeout"/>.</description></item>
/// <item><term><c>ExpectContinueTimeout</c> 1 s</term><description><see cref="SocketsHttpHandler.Expect100ContinueTimeout"/>.</description></item>
/// <item><term><c>ForceAttemptHTTP2</c></term><description>HTTP/2 requested per request with version policy "or lower"; <see cref="SocketsHttpHandler.EnableMultipleHttp2Connections"/> on.</description></item>
/// <item><term><c>Proxy: ProxyFromEnvironment</c></term><description><see cref="SocketsHttpHandler.UseProxy"/> with the default (environment) proxy.</description></item>
/// <item><term><c>MaxIdleConns</c> 1,000 (FR-005), <c>MaxIdleConnsPerHost</c> 100 (FR-006)</term><description>
/// .NET has no cap on idle connections. What bounds them instead: an idle connection is closed after
/// <see cref="TransportOptions.IdleConnectionTimeout"/>, every connection is retired after
/// <see cref="TransportOptions.PooledConnectionLifetime"/>, and the number of connections to one
/// upstream can never exceed the requests in flight to it, which the per-proxy concurrency limiter
/// caps (<see cref="ProxyOptions.MaxConcurrent"/>).</description></item>
/// </list>
/// <para>Redirects are never followed, cookies are never stored and bodies are never decompressed:
/// a proxy passes those through unchanged.</para>
/// </remarks>
public static class HardenedTransport
{
    /// <summary>Creates a hardened handler from <paramref name="options"/>.</summary>
    /// <param name="options">The transport settings; <see langword="null"/> takes the defaults.</param>
    /// <returns>A new handler. The caller owns it and disposes it.</returns>
    public static SocketsHttpHandler CreateHandler(TransportOptions? options = null)
    {
        var settings = options?.Clone() ?? new TransportOptions();
        var dialTimeout = settings.DialTimeout;
        var keepAliveSeconds = Math.Max(1, (int)Math.Ceiling(settings.KeepAlive.TotalSeconds));

        return new SocketsHttpHandler
        {
            ConnectTimeout = dialTimeout + settings.TlsHandshakeTimeout,
            PooledConnectionIdleTimeout = settings.IdleConnectionTimeout,
            PooledConnectionLifetime = settings.PooledConnectionLifetime,
            Expect100ContinueTimeout = settings.ExpectContinueTimeout,
            EnableMultipleHttp2Connections = settings.EnableHttp2,
            UseProxy = settings.UseSystemProxy,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ActivityHeadersPropagator = null, // the forwarder copies the client's trace context itself
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, dialTimeout, keepAliveSeconds, cancellationToken),
        };
    }

    /// <summary>Opens the TCP connection with its own dial timeout and TCP keep-alive (Go's <c>net.Dialer</c>).</summary>
    internal static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, TimeSpan dialTimeout, int keepAliveSeconds, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, keepAliveSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, keepAliveSeconds);

            using var dialCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            dialCancellation.CancelAfter(dialTimeout);
            try
            {
                await socket.ConnectAsync(endPoint, dialCancellation.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new UpstreamDialTimeoutException(endPoint, dialTimeout);
            }

            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
