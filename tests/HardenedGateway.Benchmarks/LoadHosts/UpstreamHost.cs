using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The upstream every target reaches: a plain Kestrel app on several loopback ports, one per target,
/// counting the TCP connections accepted on each (NFR-002: how many connections a proxy opens).
/// </summary>
/// <remarks>
/// Port 0 of the list is for the harness itself (<c>GET /_conns</c>), so its reads never count
/// against a target. Endpoints: <c>GET /small</c> (small JSON), <c>GET /download</c> (1 MiB),
/// <c>POST /upload</c> (reads the body, answers its length), <c>GET /slow?ms=N</c>,
/// <c>GET /sse?events=N&amp;intervalMs=M</c> (the first event at once, then one every M ms),
/// <c>GET /fail</c> (500, to trip a breaker).
/// </remarks>
internal static class UpstreamHost
{
    private const int DownloadSize = 1024 * 1024;

    private static readonly byte[] SmallBody = """{"message":"hello from the upstream","id":42,"ok":true}"""u8.ToArray();
    private static readonly byte[] DownloadBody = CreateDownloadBody();

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = LoadHostCommon.CreateBuilder(args);
        var targetListeners = builder.Configuration.GetValue("listeners", 1);
        var connections = new long[targetListeners + 1];
        var listeners = new List<ListenOptions>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            for (var i = 0; i < connections.Length; i++)
            {
                var index = i;
                var listener = LoadHostCommon.ListenOnFreeLoopbackPort(kestrel);
                listener.Use(next => context =>
                {
                    Interlocked.Increment(ref connections[index]);
                    return next(context);
                });
                listeners.Add(listener);
            }
        });

        var app = builder.Build();
        app.MapGet("/small", static context => WriteAsync(context, "application/json", SmallBody));
        app.MapGet("/download", static context => WriteAsync(context, "application/octet-stream", DownloadBody));
        app.MapPost("/upload", UploadAsync);
        app.MapGet("/slow", SlowAsync);
        app.MapGet("/sse", ServerSentEventsAsync);
        app.MapGet("/fail", static context =>
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return Task.CompletedTask;
        });
        app.MapGet("/_conns", context =>
        {
            var counts = Enumerable.Range(0, connections.Length).Select(i => Interlocked.Read(ref connections[i]));
            return WriteAsync(context, "application/json", Encoding.UTF8.GetBytes($$"""{"connections":[{{string.Join(',', counts)}}]}"""));
        });

        return await LoadHostCommon.RunAsync(app, listeners);
    }

    private static Task WriteAsync(HttpContext context, string contentType, byte[] body)
    {
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body).AsTask();
    }

    private static async Task UploadAsync(HttpContext context)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        long length = 0;
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                length += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await WriteAsync(context, "application/json", Encoding.UTF8.GetBytes($$"""{"length":{{length}}}"""));
    }

    private static async Task SlowAsync(HttpContext context)
    {
        var ms = QueryInt(context, "ms", 100, max: 600_000);
        try
        {
            await Task.Delay(ms, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return; // the client went away
        }

        await WriteAsync(context, "application/json", SmallBody);
    }

    private static async Task ServerSentEventsAsync(HttpContext context)
    {
        var events = QueryInt(context, "events", 5, max: 10_000);
        var intervalMs = QueryInt(context, "intervalMs", 100, max: 60_000);
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        try
        {
            for (var i = 0; i < events; i++)
            {
                if (i > 0)
                {
                    await Task.Delay(intervalMs, context.RequestAborted);
                }

                // One small event, flushed on its own: a proxy that buffers holds it back until later events or the end.
                var line = string.Create(CultureInfo.InvariantCulture, $"id: {i}\ndata: {{\"token\":\"t{i}\"}}\n\n");
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away
        }
    }

    private static int QueryInt(HttpContext context, string name, int defaultValue, int max) =>
        int.TryParse(context.Request.Query[name], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? Math.Clamp(value, 0, max)
            : defaultValue;

    private static byte[] CreateDownloadBody()
    {
        var body = new byte[DownloadSize];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)('a' + (i % 26));
        }

        return body;
    }
}
