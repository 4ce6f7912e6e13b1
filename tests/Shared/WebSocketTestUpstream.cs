using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Testing;

/// <summary>
/// A real Kestrel WebSocket upstream on 127.0.0.1 (ASP.NET Core's WebSocket middleware), for tunnel tests:
/// <c>/ws</c> echoes every text and binary frame unchanged, <c>/close</c> closes after the first message,
/// <c>/ticks</c> sends a message every 50 ms and reads nothing, <c>/sink</c> reads and never sends,
/// <c>/refuse</c> answers 403, <c>/fail</c> answers 503. It counts the WebSockets it accepted and has open.
/// </summary>
public sealed class WebSocketTestUpstream : IAsyncDisposable
{
    public const string RefusalBody = "no websockets here";

    private readonly TestUpstream _upstream;
    private int _accepted;
    private int _open;
    private int _upgradeRequests;

    private WebSocketTestUpstream(TestUpstream upstream) => _upstream = upstream;

    public Uri BaseAddress => _upstream.BaseAddress;

    /// <summary>Gets the WebSockets accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Gets the WebSockets whose handler has not returned yet (the connection is still open).</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Gets the upgrade requests that reached any endpoint, refused ones included.</summary>
    public int UpgradeRequests => Volatile.Read(ref _upgradeRequests);

    /// <summary>Gets the TCP connections the upstream accepted.</summary>
    public int AcceptedConnections => _upstream.AcceptedConnections;

    public static async Task<WebSocketTestUpstream> StartAsync()
    {
        WebSocketTestUpstream? self = null;
        var upstream = await TestUpstream.StartAsync(app =>
        {
            app.UseWebSockets();
            app.Use((context, next) =>
            {
                if (context.WebSockets.IsWebSocketRequest)
                {
                    Interlocked.Increment(ref self!._upgradeRequests);
                }

                return next(context);
            });
            app.Map("/ws", context => self!.ServeAsync(context, EchoAsync));
            app.Map("/close", context => self!.ServeAsync(context, CloseAfterFirstMessageAsync));
            app.Map("/ticks", context => self!.ServeAsync(context, TicksAsync));
            app.Map("/sink", context => self!.ServeAsync(context, SinkAsync));
            app.Map("/refuse", static context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return context.Response.WriteAsync(RefusalBody);
            });
            app.Map("/fail", static context =>
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            });
        }).ConfigureAwait(false);
        self = new WebSocketTestUpstream(upstream);
        return self;
    }

    /// <summary>Echoes frame by frame, keeping message type and boundaries; answers a close with a close.</summary>
    public static async Task EchoAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, cancellationToken).ConfigureAwait(false);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => _upstream.DisposeAsync();

    private static async Task CloseAfterFirstMessageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cancellationToken).ConfigureAwait(false);
    }

    private static async Task TicksAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var tick = "tick"u8.ToArray();
        while (socket.State == WebSocketState.Open)
        {
            await socket.SendAsync(tick, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task SinkAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }
        }
    }

    private async Task ServeAsync(HttpContext context, Func<WebSocket, CancellationToken, Task> handler)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _open);
        try
        {
            await handler(socket, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
        {
            // The tunnel (or the test) went away: the upstream's side simply ends.
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }
}
