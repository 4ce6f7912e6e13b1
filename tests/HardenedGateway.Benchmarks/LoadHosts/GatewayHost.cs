using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The host under test: a minimal application with <c>AddHardenedProxy</c>, proxy <c>bench</c> on
/// <c>/bench</c> to the upstream, a limiter and a breaker on the measured path at limits the load never
/// reaches (MaxConcurrent 10,000; FailureThreshold 1,000), plus <c>/_stats</c>.
/// </summary>
internal static class GatewayHost
{
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
        using var allocations = AllocationSampler.Enabled ? new AllocationSampler() : null;
        allocations?.Map(app);
        return await LoadHostCommon.RunAsync(app, [listener!]);
    }
}
