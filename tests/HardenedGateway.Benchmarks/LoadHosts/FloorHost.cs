using System.Buffers;
using System.Text;
using System.Text.Json;
using HardenedGateway.Forwarding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The floor of the overload scenario (issue 16): the cheapest ASP.NET Core application that gives the
/// gateway's answers. Built as the other hosts (<see cref="LoadHostCommon.CreateBuilder"/>, the same
/// Kestrel, hosting and logging), its first middleware answers every <c>/shed</c> request with the
/// gateway's 429 and every <c>/open</c> request with its 503: the same status line, headers and
/// problem body bytes (a fixed trace id), written in one call, with no limiter, no breaker, no
/// metrics and no log check. What a rejection costs here is what Kestrel and the hosting layer cost;
/// no middleware in this process model can answer for less.
/// </summary>
/// <remarks><c>/bench/small</c> is answered directly (200, a small body), so the <c>small</c> step measures an unproxied answer.</remarks>
internal static class FloorHost
{
    private static readonly byte[] Shed = Problem(GatewayErrorReason.ConcurrencyLimit, "shed");

    private static readonly byte[] Open = Problem(GatewayErrorReason.CircuitOpen, "open");

    private static readonly byte[] Small = Encoding.UTF8.GetBytes("{\"ok\":true,\"items\":[1,2,3]}");

    public static async Task<int> RunAsync(string[] args)
    {
        using var pauses = new GcPauseListener();
        var builder = LoadHostCommon.CreateBuilder(args);
        ListenOptions? listener = null;
        builder.WebHost.ConfigureKestrel(kestrel => listener = LoadHostCommon.ListenOnFreeLoopbackPort(kestrel));
        var app = builder.Build();
        app.Use(static next => context =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments("/shed"))
            {
                return WriteAsync(context, 429, Shed, circuit: null);
            }

            if (path.StartsWithSegments("/open"))
            {
                return WriteAsync(context, 503, Open, circuit: "open");
            }

            if (path.StartsWithSegments("/bench"))
            {
                context.Response.ContentType = "application/json";
                context.Response.ContentLength = Small.Length;
                return context.Response.Body.WriteAsync(Small).AsTask();
            }

            return next(context);
        });
        app.MapProxyStats(pauses);
        return await LoadHostCommon.RunAsync(app, [listener!]);
    }

    private static Task WriteAsync(HttpContext context, int status, byte[] body, string? circuit)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        response.ContentLength = body.Length;
        response.Headers.CacheControl = "no-store";
        response.Headers.RetryAfter = "1";
        if (circuit is not null)
        {
            response.Headers["X-Circuit-Breaker"] = circuit;
        }

        return response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>The gateway's own problem body for <paramref name="reason"/>, written by its own writer, with a fixed trace id.</summary>
    private static byte[] Problem(GatewayErrorReason reason, string proxy)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            var status = ProblemResponses.StatusFor(reason);
            ProblemResponses.WriteProblemObject(writer, status, ProblemResponses.TitleFor(reason), ProblemResponses.DetailFor(reason), proxy, reason.ToLabel(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        }

        return buffer.WrittenSpan.ToArray();
    }
}
