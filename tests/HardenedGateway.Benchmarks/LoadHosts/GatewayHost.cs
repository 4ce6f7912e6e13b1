using System.Net;
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
/// <remarks>
/// With <c>--overload true</c> (the overload scenario, issue 16) two more proxies to the same upstream,
/// set up as the sample host sets up its <c>ai</c> proxy: <c>shed</c> on <c>/shed</c> with
/// <c>MaxConcurrent</c> <c>--cap</c> (default 8), reject at once (429), breaker on; and <c>open</c> on
/// <c>/open</c>, whose breaker is tripped before the ready line (one 500 from the upstream's
/// <c>/fail</c>, threshold 1, recovery in a day), so that every request to it gets 503.
/// </remarks>
internal static class GatewayHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var pauses = new GcPauseListener();
        var builder = LoadHostCommon.CreateBuilder(args);
        var upstream = builder.Configuration["upstream"] ?? throw new ArgumentException("--upstream <uri> is required");
        var overload = builder.Configuration.GetValue("overload", false);
        var cap = builder.Configuration.GetValue("cap", 8);

        var settings = new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:bench:PathPrefix"] = "/bench",
            ["HardenedGateway:Proxies:bench:Upstream"] = upstream,
            ["HardenedGateway:Proxies:bench:MaxConcurrent"] = "10000",
            ["HardenedGateway:Proxies:bench:CircuitBreaker:Enabled"] = "true",
            ["HardenedGateway:Proxies:bench:CircuitBreaker:FailureThreshold"] = "1000",
        };
        if (overload)
        {
            settings["HardenedGateway:Proxies:shed:PathPrefix"] = "/shed";
            settings["HardenedGateway:Proxies:shed:Upstream"] = upstream;
            settings["HardenedGateway:Proxies:shed:MaxConcurrent"] = cap.ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings["HardenedGateway:Proxies:shed:RetryAfterSeconds"] = "1";
            settings["HardenedGateway:Proxies:shed:CircuitBreaker:Enabled"] = "true";
            settings["HardenedGateway:Proxies:open:PathPrefix"] = "/open";
            settings["HardenedGateway:Proxies:open:Upstream"] = upstream;
            settings["HardenedGateway:Proxies:open:MaxConcurrent"] = cap.ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings["HardenedGateway:Proxies:open:CircuitBreaker:Enabled"] = "true";
            settings["HardenedGateway:Proxies:open:CircuitBreaker:FailureThreshold"] = "1";
            settings["HardenedGateway:Proxies:open:CircuitBreaker:RecoveryTimeout"] = "1.00:00:00";
        }

        builder.Configuration.AddInMemoryCollection(settings);

        ListenOptions? listener = null;
        builder.WebHost.ConfigureKestrel(kestrel => listener = LoadHostCommon.ListenOnFreeLoopbackPort(kestrel));
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));

        var app = builder.Build(); // the proxy routes are mapped automatically
        app.MapProxyStats(pauses);
        using var allocations = AllocationSampler.Enabled ? new AllocationSampler() : null;
        allocations?.Map(app);
        return await LoadHostCommon.RunAsync(app, [listener!], overload ? TripOpenBreakerAsync : null);
    }

    /// <summary>Opens the breaker of proxy <c>open</c> through its own route: one upstream 500, then every request gets 503.</summary>
    private static async Task TripOpenBreakerAsync(int port)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        using var failed = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/open/fail"));
        using var rejected = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/open/small"));
        if (failed.StatusCode != HttpStatusCode.InternalServerError || rejected.StatusCode != HttpStatusCode.ServiceUnavailable)
        {
            throw new InvalidOperationException($"the breaker of proxy 'open' did not open: {(int)failed.StatusCode}, then {(int)rejected.StatusCode}");
        }
    }
}
