using System.Net;
using System.Text.Json;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Admin;

/// <summary>The admin endpoints of DESIGN.md: the proxies' state, and a breaker reset (T028).</summary>
[TestFixture]
public sealed class AdminEndpointTests
{
    private static readonly string[] ProxyProperties =
        ["upstream", "circuitState", "consecutiveFailures", "retryAfterSeconds", "concurrencyLimit", "concurrencyAvailable", "queueLength"];

    [Test]
    public async Task GetProxies_EveryProxy_ExactShape()
    {
        await using var scenario = await StartAsync(new FakeTimeProvider());

        using var response = await scenario.Client.GetAsync(new Uri("/api/gateway/proxies", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json; charset=utf-8"));
            Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "ai", "down", "plain" }));
            AssertProxy(root.GetProperty("ai"), scenario.Upstream.BaseAddress.ToString(), "closed", failures: 0, retryAfter: null, limit: 5, available: 5, queued: 0);
            AssertProxy(root.GetProperty("plain"), scenario.Upstream.BaseAddress.ToString(), "closed", failures: 0, retryAfter: null, limit: null, available: null, queued: null);
            AssertProxy(root.GetProperty("down"), "http://127.0.0.1:1/", "closed", failures: 0, retryAfter: null, limit: null, available: null, queued: null);
        });
    }

    [Test]
    public async Task GetProxies_ProxyWithWebSockets_AddsTunnelsActiveAndMax()
    {
        await using var scenario = await GatewayScenario.StartAsync(
            static services => services.AddHardenedGatewayPrometheus(static options =>
            {
                options.Registry = PrometheusMetrics.NewCustomRegistry();
                options.AllowAnonymous = true;
            }),
            static app => app.MapHardenedGatewayAdmin(),
            new Dictionary<string, string?>
            {
                ["HardenedGateway:Proxies:ai:WebSockets:Enabled"] = "true",
                ["HardenedGateway:Proxies:ai:WebSockets:MaxConnections"] = "3",
            });

        var ai = await GetProxyAsync(scenario, "ai");
        var plain = await GetProxyAsync(scenario, "plain");

        Assert.Multiple(() =>
        {
            Assert.That(ai.EnumerateObject().Select(p => p.Name), Is.EqualTo(ProxyProperties.Append("tunnels")));
            Assert.That(ai.GetProperty("tunnels").GetProperty("active").GetInt32(), Is.Zero);
            Assert.That(ai.GetProperty("tunnels").GetProperty("max").GetInt32(), Is.EqualTo(3));
            Assert.That(plain.TryGetProperty("tunnels", out _), Is.False, "only a proxy with WebSockets enabled has tunnels");
        });
    }

    [Test]
    public async Task GetProxies_BreakerCountingThenOpenThenHalfOpen_ReportsEachState()
    {
        var time = new FakeTimeProvider();
        await using var scenario = await StartAsync(time);
        var upstream = scenario.Upstream.BaseAddress.ToString();

        // The breaker learns an outcome just after the client has its response; the request is recorded after that.
        Assert.That(await scenario.GetAsync("/api/ai/fail"), Is.EqualTo(500));
        await scenario.WaitForRecordedRequestsAsync(1);
        AssertProxy(await GetProxyAsync(scenario, "ai"), upstream, "closed", failures: 1, retryAfter: null, limit: 5, available: 5, queued: 0);

        Assert.That(await scenario.GetAsync("/api/ai/fail"), Is.EqualTo(500));
        await scenario.WaitForRecordedRequestsAsync(2);
        AssertProxy(await GetProxyAsync(scenario, "ai"), upstream, "open", failures: 0, retryAfter: 300, limit: 5, available: 5, queued: 0);

        // Rounded up, as in the 503's Retry-After.
        time.Advance(TimeSpan.FromSeconds(299.5));
        AssertProxy(await GetProxyAsync(scenario, "ai"), upstream, "open", failures: 0, retryAfter: 1, limit: 5, available: 5, queued: 0);

        time.Advance(TimeSpan.FromSeconds(0.5));
        AssertProxy(await GetProxyAsync(scenario, "ai"), upstream, "half-open", failures: 0, retryAfter: null, limit: 5, available: 5, queued: 0);
    }

    [Test]
    public async Task PostReset_OpenBreaker_ClosesItAndAnswersTheProxysObject()
    {
        await using var scenario = await StartAsync(new FakeTimeProvider());
        Assert.That(await scenario.GetAsync("/api/ai/fail"), Is.EqualTo(500));
        Assert.That(await scenario.GetAsync("/api/ai/fail"), Is.EqualTo(500));
        await scenario.WaitForRecordedRequestsAsync(2);
        Assert.That(await scenario.GetAsync("/api/ai/ok"), Is.EqualTo(503), "the breaker is open");

        using var response = await scenario.Client.PostAsync(new Uri("/api/gateway/proxies/ai/reset", UriKind.Relative), content: null);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json; charset=utf-8"));
            AssertProxy(json.RootElement, scenario.Upstream.BaseAddress.ToString(), "closed", failures: 0, retryAfter: null, limit: 5, available: 5, queued: 0);
            Assert.That(await scenario.GetAsync("/api/ai/ok"), Is.EqualTo(200), "requests flow again");
        });
    }

    [Test]
    public async Task PostReset_ProxyWithoutBreaker_AnswersClosed()
    {
        await using var scenario = await StartAsync(new FakeTimeProvider());

        using var response = await scenario.Client.PostAsync(new Uri("/api/gateway/proxies/plain/reset", UriKind.Relative), content: null);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            AssertProxy(json.RootElement, scenario.Upstream.BaseAddress.ToString(), "closed", failures: 0, retryAfter: null, limit: null, available: null, queued: null);
        });
    }

    [Test]
    public async Task PostReset_UnknownName_404Problem()
    {
        await using var scenario = await StartAsync(new FakeTimeProvider());

        using var response = await scenario.Client.PostAsync(new Uri("/api/gateway/proxies/nope/reset", UriKind.Relative), content: null);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var problem = json.RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(404));
            Assert.That(problem.GetProperty("title").GetString(), Is.EqualTo("Not Found"));
            Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("No proxy is named 'nope'."));
            Assert.That(problem.GetProperty("proxy").GetString(), Is.EqualTo("nope"));
            Assert.That(problem.GetProperty("traceId").GetString(), Is.Not.Empty);
        });
    }

    private static void AssertProxy(JsonElement proxy, string upstream, string circuitState, int failures, int? retryAfter, int? limit, int? available, int? queued)
    {
        Assert.Multiple(() =>
        {
            Assert.That(proxy.EnumerateObject().Select(p => p.Name), Is.EqualTo(ProxyProperties));
            Assert.That(proxy.GetProperty("upstream").GetString(), Is.EqualTo(upstream));
            Assert.That(proxy.GetProperty("circuitState").GetString(), Is.EqualTo(circuitState));
            Assert.That(proxy.GetProperty("consecutiveFailures").GetInt32(), Is.EqualTo(failures));
            Assert.That(NullableInt(proxy.GetProperty("retryAfterSeconds")), Is.EqualTo(retryAfter), "retryAfterSeconds");
            Assert.That(NullableInt(proxy.GetProperty("concurrencyLimit")), Is.EqualTo(limit), "concurrencyLimit");
            Assert.That(NullableInt(proxy.GetProperty("concurrencyAvailable")), Is.EqualTo(available), "concurrencyAvailable");
            Assert.That(NullableInt(proxy.GetProperty("queueLength")), Is.EqualTo(queued), "queueLength");
        });
    }

    private static int? NullableInt(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetInt32();

    private static async Task<JsonElement> GetProxyAsync(GatewayScenario scenario, string name)
    {
        var text = await scenario.Client.GetStringAsync(new Uri("/api/gateway/proxies", UriKind.Relative));
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty(name).Clone();
    }

    /// <summary>The breaker of <c>ai</c> opens after 2 failures for 5 minutes; time stands still unless a test advances it.</summary>
    private static Task<GatewayScenario> StartAsync(FakeTimeProvider time) =>
        GatewayScenario.StartAsync(
            services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddHardenedGatewayPrometheus(options =>
                {
                    options.Registry = PrometheusMetrics.NewCustomRegistry();
                    options.AllowAnonymous = true;
                });
            },
            app => app.MapHardenedGatewayAdmin(),
            new Dictionary<string, string?>
            {
                ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureThreshold"] = "2",
                ["HardenedGateway:Proxies:ai:CircuitBreaker:RecoveryTimeout"] = "00:05:00",
            });
}
