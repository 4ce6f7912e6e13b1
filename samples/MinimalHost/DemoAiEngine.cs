using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace MinimalHost;

/// <summary>
/// A slow, streaming stand-in for a fragile Python AI engine, started on a free loopback port when no
/// upstream is configured for <c>ai</c>, so the sample runs out of the box.
/// </summary>
internal static class DemoAiEngine
{
    private static readonly string[] Tokens = ["Hardened", " gateways", " keep", " fragile", " upstreams", " alive", "."];

    public static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();

        app.MapGet("/health", () => Results.Json(new { status = "ok", model = "demo-7b" }));
        app.MapPost("/generate", GenerateAsync);
        app.MapGet("/slow", async (int? ms, CancellationToken cancellationToken) =>
        {
            var delay = Math.Clamp(ms ?? 1000, 0, 600_000);
            await Task.Delay(delay, cancellationToken);
            return Results.Json(new { sleptMs = delay });
        });
        app.MapGet("/fail", () => Results.Problem("The demo engine failed on purpose.", statusCode: 500));
        app.UseWebSockets();
        app.Map("/ws", EchoWebSocketAsync);

        await app.StartAsync();
        return app;
    }

    private static async Task GenerateAsync(HttpContext context, GenerateRequest request)
    {
        var cancellationToken = context.RequestAborted;
        if (!request.Stream)
        {
            await Task.Delay(100 * Tokens.Length, cancellationToken);
            await context.Response.WriteAsJsonAsync(new { prompt = request.Prompt, text = string.Concat(Tokens) }, cancellationToken);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        foreach (var token in Tokens)
        {
            await Task.Delay(100, cancellationToken);
            await context.Response.WriteAsync($"data: {JsonSerializer.Serialize(new { token })}\n\n", cancellationToken);
            await context.Response.Body.FlushAsync(cancellationToken);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", cancellationToken);
    }

    /// <summary>A realtime-API stand-in: every text or binary message comes back unchanged, until the client closes.</summary>
    private static async Task EchoWebSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client (or the gateway's idle timeout) cut the tunnel.
        }
    }

    internal sealed record GenerateRequest(string? Prompt, bool Stream = true);
}
