using System.Net;
using System.Text.Json;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Admin;

/// <summary>An adaptive proxy shows itself: the admin object's "adaptive" fields and the baseline gauge on the metrics endpoint (DESIGN.md, "Adaptive concurrency").</summary>
[TestFixture]
public sealed class AdaptiveConcurrencyAdminTests
{
    [Test]
    public async Task GetProxies_AdaptiveProxy_AddsAdaptiveObjectAndMetricsEndpointHasBaselineGauge()
    {
        await using var scenario = await GatewayScenario.StartAsync(
            services => services.AddHardenedGatewayPrometheus(options =>
            {
                options.Registry = PrometheusMetrics.NewCustomRegistry();
                options.AllowAnonymous = true;
            }),
            app =>
            {
                app.MapHardenedGatewayAdmin();
                app.MapHardenedGatewayMetrics();
            },
            new Dictionary<string, string?>
            {
                ["HardenedGateway:Proxies:ai:MaxConcurrent"] = "0",
                ["HardenedGateway:Proxies:ai:AdaptiveConcurrency:Enabled"] = "true",
                ["HardenedGateway:Proxies:ai:AdaptiveConcurrency:MinLimit"] = "1",
                ["HardenedGateway:Proxies:ai:AdaptiveConcurrency:MaxLimit"] = "64",
                ["HardenedGateway:Proxies:ai:AdaptiveConcurrency:InitialLimit"] = "4",
            });
        var registry = scenario.Gateway.GetRequiredService<HardenedProxyRegistry>();
        Assert.That(registry.TryGetUpstream("ai", out var ai), Is.True);

        // Answers until the first sample window has closed and the baseline is known.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ai!.Limiter!.GetAdaptiveSnapshot()!.BaselineSeconds == 0 && DateTime.UtcNow < deadline)
        {
            Assert.That(await scenario.GetAsync("/api/ai/x"), Is.EqualTo(200));
            await Task.Delay(20);
        }

        var snapshot = ai.Limiter.GetAdaptiveSnapshot()!;
        Assert.That(snapshot.BaselineSeconds, Is.GreaterThan(0));

        using var response = await scenario.Client.GetAsync(new Uri("/api/gateway/proxies", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var aiJson = json.RootElement.GetProperty("ai");
        var adaptive = aiJson.GetProperty("adaptive");
        var metrics = await scenario.Client.GetStringAsync(new Uri("/api/gateway/metrics", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(adaptive.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "limit", "minLimit", "maxLimit", "baselineSeconds", "recentSeconds" }));
            Assert.That(adaptive.GetProperty("limit").GetInt32(), Is.EqualTo(ai.Limiter.MaxConcurrent));
            Assert.That(aiJson.GetProperty("concurrencyLimit").GetInt32(), Is.EqualTo(ai.Limiter.MaxConcurrent), "the concurrency fields report the current limit");
            Assert.That(adaptive.GetProperty("minLimit").GetInt32(), Is.EqualTo(1));
            Assert.That(adaptive.GetProperty("maxLimit").GetInt32(), Is.EqualTo(64));
            Assert.That(adaptive.GetProperty("baselineSeconds").GetDouble(), Is.EqualTo(snapshot.BaselineSeconds).Within(1e-6));
            Assert.That(adaptive.GetProperty("recentSeconds").GetDouble(), Is.GreaterThan(0));
            Assert.That(json.RootElement.GetProperty("plain").TryGetProperty("adaptive", out _), Is.False, "only adaptive proxies have it");
            Assert.That(metrics, Does.Contain("# TYPE hardened_gateway_adaptive_baseline_seconds gauge"));
            Assert.That(metrics, Does.Match("hardened_gateway_adaptive_baseline_seconds\\{proxy=\"ai\"\\} [0-9.e-]+"));
            Assert.That(metrics, Does.Not.Contain("hardened_gateway_adaptive_baseline_seconds{proxy=\"plain\"}"));
        });
    }
}
