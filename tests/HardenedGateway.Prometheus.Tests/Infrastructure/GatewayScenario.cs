using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Prometheus.Tests.Infrastructure;

/// <summary>
/// An upstream (<c>/fail</c> answers 500, any other path 200, unless the test maps it) behind a gateway with three proxies:
/// <c>ai</c> (limiter 5, breaker), <c>plain</c> (neither) and <c>down</c> (a closed loopback port).
/// </summary>
public sealed class GatewayScenario : IAsyncDisposable
{
    private GatewayScenario(TestUpstream upstream, TestGateway gateway)
    {
        Upstream = upstream;
        Gateway = gateway;
    }

    public TestUpstream Upstream { get; }

    public TestGateway Gateway { get; }

    public HttpClient Client => Gateway.Client;

    public MetricsCollector Collector => Gateway.GetRequiredService<MetricsCollector>();

    public static async Task<GatewayScenario> StartAsync(
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? configure = null,
        IDictionary<string, string?>? settings = null,
        Action<WebApplication>? upstream = null)
    {
        var upstreamHost = await TestUpstream.StartAsync(app =>
        {
            upstream?.Invoke(app);
            app.Map("/fail", () => Results.StatusCode(StatusCodes.Status500InternalServerError));
            app.Map("/{**rest}", () => "ok");
        });

        var all = new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = upstreamHost.BaseAddress.ToString(),
            ["HardenedGateway:Proxies:ai:MaxConcurrent"] = "5",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:Enabled"] = "true",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureThreshold"] = "100",
            ["HardenedGateway:Proxies:plain:PathPrefix"] = "/api/plain",
            ["HardenedGateway:Proxies:plain:Upstream"] = upstreamHost.BaseAddress.ToString(),
            ["HardenedGateway:Proxies:down:PathPrefix"] = "/api/down",
            ["HardenedGateway:Proxies:down:Upstream"] = "http://127.0.0.1:1/",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        try
        {
            var gateway = await TestGateway.StartAsync(all, services, configure);
            return new GatewayScenario(upstreamHost, gateway);
        }
        catch
        {
            await upstreamHost.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a GET and returns its status code.</summary>
    public async Task<int> GetAsync(string path, string? token = null)
    {
        using var request = TestAuthentication.CreateRequest(HttpMethod.Get, path, token);
        using var response = await Client.SendAsync(request);
        return (int)response.StatusCode;
    }

    /// <summary>Waits (bounded) until the gateway has recorded <paramref name="expected"/> finished requests in all:
    /// it records a request just after the client has the response.</summary>
    public Task WaitForRecordedRequestsAsync(long expected) =>
        Eventually.AssertAsync(() => RecordedRequests() == expected, $"the gateway recorded {expected.ToString(CultureInfo.InvariantCulture)} requests", TimeSpan.FromSeconds(30));

    /// <summary>Gets the number of finished requests in the gateway's own Prometheus text.</summary>
    public long RecordedRequests() =>
        (long)PrometheusScrape.Parse(Collector.RenderPrometheusText()).Samples
            .Where(s => s.Name == "hardened_gateway_requests_total")
            .Sum(s => s.Value);

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
