using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace HardenedGateway.IntegrationTests.Tunnels;

/// <summary>ClientWebSocket helpers for the tunnel tests: connect through the gateway, send and receive whole messages.</summary>
internal static class TunnelClient
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public static Uri WebSocketUri(Uri gateway, string path) => new UriBuilder(gateway) { Scheme = "ws", Path = path }.Uri;

    /// <summary>A client WebSocket that talks straight to the given server (no system proxy) and keeps the handshake's response details.</summary>
    public static ClientWebSocket Create()
    {
        var socket = new ClientWebSocket();
        socket.Options.Proxy = null;
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // no client pings: the tests decide every byte
        return socket;
    }

    public static async Task<ClientWebSocket> ConnectAsync(Uri gateway, string path = "/api/ai/ws")
    {
        var socket = Create();
        using var timeout = new CancellationTokenSource(Bound);
        await socket.ConnectAsync(WebSocketUri(gateway, path), timeout.Token).ConfigureAwait(false);
        return socket;
    }

    /// <summary>Connects expecting a refusal; returns the status the handshake got.</summary>
    public static async Task<HttpStatusCode> ConnectRefusedAsync(Uri gateway, string path = "/api/ai/ws")
    {
        using var socket = Create();
        using var timeout = new CancellationTokenSource(Bound);
        Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WebSocketUri(gateway, path), timeout.Token));
        return socket.HttpStatusCode;
    }

    public static async Task SendAsync(WebSocket socket, byte[] message, WebSocketMessageType type)
    {
        using var timeout = new CancellationTokenSource(Bound);
        await socket.SendAsync(message, type, endOfMessage: true, timeout.Token).ConfigureAwait(false);
    }

    public static Task SendTextAsync(WebSocket socket, string text) => SendAsync(socket, Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    /// <summary>Receives one whole message (or the close); every wait bounded.</summary>
    public static async Task<(WebSocketMessageType Type, byte[] Payload)> ReceiveAsync(WebSocket socket, TimeSpan? bound = null)
    {
        using var timeout = new CancellationTokenSource(bound ?? Bound);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token).ConfigureAwait(false);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }

    public static async Task<string> ReceiveTextAsync(WebSocket socket)
    {
        var (type, payload) = await ReceiveAsync(socket).ConfigureAwait(false);
        Assert.That(type, Is.EqualTo(WebSocketMessageType.Text));
        return Encoding.UTF8.GetString(payload);
    }

    /// <summary>Waits until the tunnel is cut under the client: a receive that ends with a close, an error or the end of the stream.</summary>
    public static async Task<bool> IsCutAsync(WebSocket socket, TimeSpan bound)
    {
        using var timeout = new CancellationTokenSource(bound);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return true;
                }
            }
        }
        catch (WebSocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The client's side of a clean close handshake.</summary>
    public static async Task CloseAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Bound);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token).ConfigureAwait(false);
    }
}
