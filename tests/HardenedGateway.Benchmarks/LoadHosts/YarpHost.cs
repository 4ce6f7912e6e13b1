using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The reference: YARP 2.3.0 with default settings and the route equivalent to the gateway's proxy
/// <c>bench</c> (<c>/bench/{**rest}</c> to the upstream, the prefix removed), plus <c>/_stats</c>.
/// </summary>
/// <remarks>
/// With <c>--overload true</c> (the overload scenario, issue 16) the setup a YARP user would build for
/// the same protection: route <c>shed</c> with ASP.NET Core's rate-limiting middleware
/// (<c>AddRateLimiter</c>, a <c>ConcurrencyLimiter</c> policy of <c>--cap</c> permits (default 8), no
/// queue, status 429, the middleware's defaults otherwise: empty body), and route <c>open</c> behind a
/// small proxy-pipeline middleware that stands for an open breaker: 503 with <c>Retry-After</c>, no body.
/// </remarks>
internal static class YarpHost
{
    private const string ShedPolicy = "shed";
    private const string OpenRoute = "open";

    public static async Task<int> RunAsync(string[] args)
    {
        using var pauses = new GcPauseListener();
        var builder = LoadHostCommon.CreateBuilder(args);
        var upstream = builder.Configuration["upstream"] ?? throw new ArgumentException("--upstream <uri> is required");
        var overload = builder.Configuration.GetValue("overload", false);
        var cap = builder.Configuration.GetValue("cap", 8);

        ListenOptions? listener = null;
        builder.WebHost.ConfigureKestrel(kestrel => listener = LoadHostCommon.ListenOnFreeLoopbackPort(kestrel));

        List<RouteConfig> routes = [Route("bench")];
        if (overload)
        {
            routes.Add(Route("shed") with { RateLimiterPolicy = ShedPolicy });
            routes.Add(Route(OpenRoute));
            builder.Services.AddRateLimiter(options =>
            {
                options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                options.AddConcurrencyLimiter(ShedPolicy, limiter =>
                {
                    limiter.PermitLimit = cap;
                    limiter.QueueLimit = 0;
                    limiter.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
                });
            });
        }

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
        if (overload)
        {
            app.UseRateLimiter(); // after routing (added first by WebApplication), so the route's policy applies
            app.MapReverseProxy(proxy =>
            {
                proxy.Use(OpenBreakerAsync);
                proxy.UseSessionAffinity();
                proxy.UseLoadBalancing();
                proxy.UsePassiveHealthChecks();
            });
        }
        else
        {
            app.MapReverseProxy();
        }

        app.MapProxyStats(pauses);
        using var allocations = AllocationSampler.Enabled ? new AllocationSampler() : null;
        allocations?.Map(app);
        return await LoadHostCommon.RunAsync(app, [listener!]);
    }

    private static RouteConfig Route(string prefix) => new()
    {
        RouteId = prefix,
        ClusterId = "bench",
        Match = new RouteMatch { Path = $"/{prefix}/{{**rest}}" },
        Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = $"/{prefix}" }],
    };

    /// <summary>A breaker that is open for route <c>open</c>: what a YARP user writes to short-circuit a failing cluster.</summary>
    private static Task OpenBreakerAsync(HttpContext context, Func<Task> next)
    {
        if (string.Equals(context.GetReverseProxyFeature().Route.Config.RouteId, OpenRoute, StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "30";
            return Task.CompletedTask;
        }

        return next();
    }
}
