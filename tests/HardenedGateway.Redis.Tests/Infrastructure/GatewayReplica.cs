using System.Globalization;
using System.Net;
using System.Text.Json;
using HardenedGateway.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.Redis.Tests.Infrastructure;

/// <summary>
/// One replica of the app: a real Kestrel host on 127.0.0.1 with <c>AddHardenedProxy</c>, (optionally)
/// <c>AddHardenedGatewayRedis</c>, the health check at <c>/healthz</c> and the admin endpoints (anonymous here).
/// </summary>
public sealed class GatewayReplica : IAsyncDisposable
{
    public const string ProxyName = "ai";

    private GatewayReplica(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public HardenedUpstream Upstream
    {
        get
        {
            App.Services.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream(ProxyName, out var upstream);
            return upstream!;
        }
    }

    /// <summary>
    /// The configuration of a replica of proxy <c>ai</c> at <c>/api/ai</c>. OperationTimeout is 1 s unless a test is about
    /// it: on a busy shared runner a 50 ms Redis call can be late, and the replica would (rightly) fall back.
    /// </summary>
    public static Dictionary<string, string?> Settings(
        Uri upstream,
        string? redis,
        int maxConcurrent = 4,
        int clusterMaxConcurrent = 0,
        bool shareBreaker = false,
        string leaseTime = "00:00:30",
        string operationTimeout = "00:00:01",
        int failureThreshold = 1,
        string recoveryTimeout = "00:00:01")
    {
        var settings = new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = upstream.ToString(),
            ["HardenedGateway:Proxies:ai:MaxConcurrent"] = maxConcurrent.ToString(CultureInfo.InvariantCulture),
            ["HardenedGateway:Proxies:ai:RetryAfterSeconds"] = "2",
            ["HardenedGateway:Proxies:ai:Cluster:MaxConcurrent"] = clusterMaxConcurrent.ToString(CultureInfo.InvariantCulture),
            ["HardenedGateway:Proxies:ai:Cluster:ShareCircuitBreaker"] = shareBreaker ? "true" : "false",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:Enabled"] = shareBreaker ? "true" : "false",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureThreshold"] = failureThreshold.ToString(CultureInfo.InvariantCulture),
            ["HardenedGateway:Proxies:ai:CircuitBreaker:RecoveryTimeout"] = recoveryTimeout,
            ["HardenedGateway:Proxies:ai:CircuitBreaker:HalfOpenRequests"] = "1",
        };
        if (redis is not null)
        {
            settings["HardenedGateway:Redis:Configuration"] = redis;
            settings["HardenedGateway:Redis:KeyPrefix"] = "test:";
            settings["HardenedGateway:Redis:LeaseTime"] = leaseTime;
            settings["HardenedGateway:Redis:OperationTimeout"] = operationTimeout;
        }

        return settings;
    }

    /// <summary>Starts a replica; with <paramref name="useRedis"/> it calls <c>AddHardenedGatewayRedis</c> on <c>HardenedGateway:Redis</c>.</summary>
    public static async Task<GatewayReplica> StartAsync(IDictionary<string, string?> settings, bool useRedis = true, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
        if (useRedis)
        {
            builder.Services.AddHardenedGatewayRedis(builder.Configuration.GetSection("HardenedGateway:Redis"));
        }

        builder.Services.AddHealthChecks().AddHardenedGateway();
        builder.Services.AddHardenedGatewayPrometheus(options =>
        {
            options.AllowAnonymous = true;
            options.Registry = global::Prometheus.Metrics.NewCustomRegistry();
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = static (context, report) => context.Response.WriteAsync(report.Status.ToString()) });
        app.MapHardenedGatewayAdmin();
        app.MapHardenedGatewayMetrics();
        await app.StartAsync().ConfigureAwait(false);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        return new GatewayReplica(app, client);
    }

    public Task<HttpResponseMessage> GetAsync(string path = "/api/ai/work") => Client.GetAsync(new Uri(path, UriKind.Relative));

    /// <summary>Reads <c>/healthz</c>: Healthy, Degraded or Unhealthy.</summary>
    public async Task<string> HealthAsync()
    {
        using var response = await Client.GetAsync(new Uri("/healthz", UriKind.Relative)).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync().ConfigureAwait(false);
    }

    /// <summary>The gateway's own Prometheus text.</summary>
    public string MetricsText()
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        App.Services.GetRequiredService<MetricsCollector>().WritePrometheusText(writer);
        return writer.ToString();
    }

    /// <summary>The admin object of proxy <c>ai</c>.</summary>
    public async Task<JsonElement> AdminAsync()
    {
        using var response = await Client.GetAsync(new Uri("/api/gateway/proxies", UriKind.Relative)).ConfigureAwait(false);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
        return document.RootElement.GetProperty(ProxyName).Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
    }
}
