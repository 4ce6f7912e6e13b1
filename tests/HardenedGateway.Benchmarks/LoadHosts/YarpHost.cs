using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The reference: YARP 2.3.0 with default settings and the route equivalent to the gateway's proxy
/// <c>bench</c> (<c>/bench/{**rest}</c> to the upstream, the prefix removed), plus <c>/_stats</c>.
/// </summary>
internal static class YarpHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var pauses = new GcPauseListener();
        var builder = LoadHostCommon.CreateBuilder(args);
        var upstream = builder.Configuration["upstream"] ?? throw new ArgumentException("--upstream <uri> is required");

        ListenOptions? listener = null;
        builder.WebHost.ConfigureKestrel(kestrel => listener = LoadHostCommon.ListenOnFreeLoopbackPort(kestrel));

        RouteConfig[] routes =
        [
            new RouteConfig
            {
                RouteId = "bench",
                ClusterId = "bench",
                Match = new RouteMatch { Path = "/bench/{**rest}" },
                Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = "/bench" }],
            },
        ];
        ClusterConfig[] clusters =
        [
            new ClusterConfig
            {
                ClusterId = "bench",
                Destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase)
                {
                    ["upstream"] = new DestinationConfig { Address = upstream },
                },
            },
        ];
        builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);

        var app = builder.Build();
        app.MapReverseProxy();
        app.MapProxyStats(pauses);
        using var allocations = AllocationSampler.Enabled ? new AllocationSampler() : null;
        allocations?.Map(app);
        return await LoadHostCommon.RunAsync(app, [listener!]);
    }
}
