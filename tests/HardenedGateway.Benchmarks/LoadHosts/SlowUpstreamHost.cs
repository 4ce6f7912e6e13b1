using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The slow upstream of <c>build/cluster-demo.sh</c>: every request under <c>/api/ai/</c> answers after
/// <c>?ms=N</c> (default 500), and <c>GET /_max</c> reports the most requests it saw in flight at once:
/// what the cluster budget is for (<c>?reset=true</c> starts a new count).
/// </summary>
internal static class SlowUpstreamHost
{
    private static int _inFlight;
    private static int _maxInFlight;
    private static long _served;

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = LoadHostCommon.CreateBuilder(args);
        ListenOptions? listener = null;
        builder.WebHost.ConfigureKestrel(kestrel => listener = LoadHostCommon.ListenOnFreeLoopbackPort(kestrel));
        var app = builder.Build();
        app.Map("/api/ai/{**rest}", SlowAsync);
        app.MapGet("/_max", static (bool? reset) =>
        {
            var result = Results.Json(new { maxInFlight = Volatile.Read(ref _maxInFlight), inFlight = Volatile.Read(ref _inFlight), served = Interlocked.Read(ref _served) });
            if (reset == true)
            {
                Volatile.Write(ref _maxInFlight, Volatile.Read(ref _inFlight));
            }

            return result;
        });
        return await LoadHostCommon.RunAsync(app, [listener!]);
    }

    private static async Task SlowAsync(HttpContext context)
    {
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            var ms = int.TryParse(context.Request.Query["ms"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? Math.Clamp(value, 0, 60_000) : 500;
            await Task.Delay(ms, context.RequestAborted);
            Interlocked.Increment(ref _served);
            await context.Response.WriteAsync("ok", context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The gateway went away.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
