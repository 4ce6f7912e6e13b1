#if HARDENED_PROXY_API
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
#endif

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The host under test: a minimal application with <c>AddHardenedProxy</c>, proxy <c>bench</c> on
/// <c>/bench</c> to the upstream, a limiter and a breaker on the measured path at limits the load never
/// reaches (MaxConcurrent 10,000; FailureThreshold 1,000), plus <c>/_stats</c>.
/// </summary>
/// <remarks>
/// Compiled only with <c>-p:HardenedProxyApi=true</c> (which defines <c>HARDENED_PROXY_API</c>), so
/// this project builds before <c>AddHardenedProxy</c> exists; <c>build/loadtest.sh</c> turns it on
/// when the core project has the API.
/// </remarks>
internal static class GatewayHost
{
#if HARDENED_PROXY_API
    public static async Task<int> RunAsync(string[] args)
    {
        using var pauses = new GcPauseListener();
        var builder = LoadHostCommon.CreateBuilder(args);
        var upstream = builder.Configuration["upstream"] ?? throw new ArgumentException("--upstream <uri> is required");

        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:bench:PathPrefix"] = "/bench",
            ["HardenedGateway:Proxies:bench:Upstream"] = upstream,
            ["HardenedGateway:Proxies:bench:MaxConcurrent"] = "10000",
            ["HardenedGateway:Proxies:bench:CircuitBreaker:Enabled"] = "true",
            ["HardenedGateway:Proxies:bench:CircuitBreaker:FailureThreshold"] = "1000",
        });

        ListenOptions? listener = null;
        builder.WebHost.ConfigureKestrel(kestrel => listener = LoadHostCommon.ListenOnFreeLoopbackPort(kestrel));
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));

        var app = builder.Build(); // the proxy routes are mapped automatically
        app.MapProxyStats(pauses);
        return await LoadHostCommon.RunAsync(app, [listener!]);
    }
#else
    public static async Task<int> RunAsync(string[] args)
    {
        _ = args;
        await Console.Error.WriteLineAsync("gateway mode is not compiled in: AddHardenedProxy is not available yet; build with -p:HardenedProxyApi=true once it is.");
        return 3;
    }
#endif
}
