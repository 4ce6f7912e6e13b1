using System.Net;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Metrics;

/// <summary>
/// One scrape holds the app's own prometheus-net series and the gateway's, with the names, types and
/// buckets of DESIGN.md, each family once. Each test has its own registry, as two gateways in one
/// process must (the default registry is tested in <see cref="DefaultRegistryTests"/>).
/// </summary>
[TestFixture]
public sealed class ScrapeTests
{
    private static readonly string[] ExpectedBuckets = ["0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

    [Test]
    public async Task Scrape_AfterTraffic_HasAppSeriesAndGatewaySeriesWithTrueTypes()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        var orders = PrometheusMetrics.WithCustomRegistry(registry).CreateCounter("app_orders_total", "Orders the app took.");
        orders.Inc(3);
        await using var scenario = await StartAsync(registry);

        await SendScriptedTrafficAsync(scenario);
        var scrape = await ScrapeAsync(scenario);

        Assert.Multiple(() =>
        {
            Assert.That(scrape.TypeOf("app_orders_total"), Is.EqualTo("counter"));
            Assert.That(scrape.Value("app_orders_total"), Is.EqualTo(3));

            Assert.That(scrape.TypeOf("hardened_gateway_requests_total"), Is.EqualTo("counter"));
            Assert.That(scrape.TypeOf("hardened_gateway_errors_total"), Is.EqualTo("counter"));
            Assert.That(scrape.TypeOf("hardened_gateway_request_duration_seconds"), Is.EqualTo("histogram"));
            Assert.That(scrape.TypeOf("hardened_gateway_upstream_duration_seconds"), Is.EqualTo("histogram"));
            Assert.That(scrape.TypeOf("hardened_gateway_active_requests"), Is.EqualTo("gauge"));
            Assert.That(scrape.TypeOf("hardened_gateway_circuit_breaker_state"), Is.EqualTo("gauge"));
            Assert.That(scrape.TypeOf("hardened_gateway_concurrency_limit"), Is.EqualTo("gauge"));
            Assert.That(scrape.TypeOf("hardened_gateway_concurrency_available"), Is.EqualTo("gauge"));
            Assert.That(scrape.TypeOf("hardened_gateway_queue_length"), Is.EqualTo("gauge"));
            Assert.That(scrape.TypeOf("hardened_gateway_buffer_pool_rented_total"), Is.EqualTo("counter"));
            Assert.That(scrape.TypeOf("hardened_gateway_buffer_pool_fallback_total"), Is.EqualTo("counter"));

            Assert.That(scrape.Value("hardened_gateway_requests_total", "proxy=\"ai\",code=\"200\""), Is.EqualTo(3));
            Assert.That(scrape.Value("hardened_gateway_requests_total", "proxy=\"ai\",code=\"500\""), Is.EqualTo(2));
            Assert.That(scrape.Value("hardened_gateway_requests_total", "proxy=\"plain\",code=\"200\""), Is.EqualTo(1));
            Assert.That(scrape.Value("hardened_gateway_requests_total", "proxy=\"down\",code=\"502\""), Is.EqualTo(1));
            Assert.That(scrape.Value("hardened_gateway_errors_total", "proxy=\"down\",reason=\"upstream_unreachable\""), Is.EqualTo(1));
            Assert.That(scrape.Value("hardened_gateway_errors_total", "proxy=\"ai\",reason=\"circuit_open\""), Is.Zero);
            Assert.That(scrape.Value("hardened_gateway_request_duration_seconds_count", "proxy=\"ai\""), Is.EqualTo(5));
            Assert.That(scrape.Value("hardened_gateway_upstream_duration_seconds_count", "proxy=\"down\""), Is.Zero);
            Assert.That(scrape.Value("hardened_gateway_concurrency_limit", "proxy=\"ai\""), Is.EqualTo(5));
            Assert.That(scrape.Value("hardened_gateway_concurrency_available", "proxy=\"ai\""), Is.EqualTo(5));
            Assert.That(scrape.Samples.Where(s => s.Name == "hardened_gateway_concurrency_limit").Select(s => s.Labels), Is.EqualTo(new[] { "proxy=\"ai\"" }));
            Assert.That(scrape.Value("hardened_gateway_circuit_breaker_state", "proxy=\"plain\""), Is.Zero);
        });
    }

    [Test]
    public async Task Scrape_Histograms_HaveExactlyTheDesignBuckets()
    {
        await using var scenario = await StartAsync(PrometheusMetrics.NewCustomRegistry());
        await SendScriptedTrafficAsync(scenario);

        var scrape = await ScrapeAsync(scenario);

        foreach (var family in new[] { "hardened_gateway_request_duration_seconds", "hardened_gateway_upstream_duration_seconds" })
        {
            var buckets = scrape.Samples
                .Where(s => s.Name == family + "_bucket" && s.Labels.StartsWith("proxy=\"ai\",", StringComparison.Ordinal))
                .Select(s => s.Labels["proxy=\"ai\",le=\"".Length..^1])
                .ToArray();
            Assert.That(buckets, Is.EqualTo(ExpectedBuckets), family);
            Assert.That(scrape.Value(family + "_bucket", "proxy=\"ai\",le=\"+Inf\""), Is.EqualTo(scrape.Value(family + "_count", "proxy=\"ai\"")), family);
        }
    }

    [Test]
    public async Task Scrape_AfterTraffic_GatewaySeriesEqualTheCollectorsOwnText()
    {
        await using var scenario = await StartAsync(PrometheusMetrics.NewCustomRegistry());
        await SendScriptedTrafficAsync(scenario);

        var scrape = await ScrapeAsync(scenario);
        var own = PrometheusScrape.Parse(scenario.Collector.RenderPrometheusText());

        var published = scrape.SamplesStartingWith("hardened_gateway_");
        var expected = own.SamplesStartingWith("hardened_gateway_");
        Assert.Multiple(() =>
        {
            Assert.That(published.Keys, Is.EquivalentTo(expected.Keys), "the same series");
            foreach (var (key, value) in expected)
            {
                // Sums are added up in seconds here and in ticks there.
                Assert.That(published.GetValueOrDefault(key, double.NaN), Is.EqualTo(value).Within(1e-9), key);
            }

            Assert.That(
                scrape.Types.Where(t => t.Name.StartsWith("hardened_gateway_", StringComparison.Ordinal)),
                Is.EquivalentTo(own.Types),
                "the same families with the same types");
        });
    }

    [Test]
    public async Task Scrape_EveryFamily_IsDeclaredOnce()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        PrometheusMetrics.WithCustomRegistry(registry).CreateGauge("app_queue_depth", "The app's own queue.").Set(2);
        await using var scenario = await StartAsync(registry);
        await SendScriptedTrafficAsync(scenario);

        var scrape = await ScrapeAsync(scenario);

        var duplicates = scrape.Types.GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => g.Key);
        Assert.That(duplicates, Is.Empty, scrape.Text);
    }

    [Test]
    public async Task Scrape_AfterTraffic_PassesPromtoolCheckMetrics()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        PrometheusMetrics.WithCustomRegistry(registry).CreateCounter("app_orders_total", "Orders the app took.", "kind").WithLabels("online").Inc();
        await using var scenario = await StartAsync(registry);
        await SendScriptedTrafficAsync(scenario);

        var scrape = await ScrapeAsync(scenario);

        await Promtool.AssertPassesCheckMetricsAsync(scrape.Text);
    }

    [Test]
    public async Task Scrape_ContentType_IsPrometheusText004()
    {
        await using var scenario = await StartAsync(PrometheusMetrics.NewCustomRegistry());

        using var response = await scenario.Client.GetAsync(new Uri("/api/gateway/metrics", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/plain; version=0.0.4; charset=utf-8"));
        });
    }

    [Test]
    public async Task Scrape_OpenMetricsRequested_StillAnswersText004()
    {
        await using var scenario = await StartAsync(PrometheusMetrics.NewCustomRegistry());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/gateway/metrics", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text; version=1.0.0");

        using var response = await scenario.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/plain; version=0.0.4; charset=utf-8"));
            Assert.That(text, Does.Not.Contain("# EOF"));
        });
    }

    [Test]
    public async Task Scrape_ProxyRemovedByReload_LosesItsSeries()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        await using var scenario = await StartAsync(registry);
        await SendScriptedTrafficAsync(scenario);
        var before = await ScrapeAsync(scenario);
        Assume.That(before.SamplesStartingWith("hardened_gateway_").Keys.Any(k => k.Contains("proxy=\"plain\"", StringComparison.Ordinal)), Is.True);

        // Removing a proxy drops its series from the collector (as a reload does); the bridge follows.
        scenario.Collector.RemoveProxy("plain");
        var after = await ScrapeAsync(scenario);

        Assert.Multiple(() =>
        {
            Assert.That(after.Samples.Where(s => s.Labels.Contains("proxy=\"plain\"", StringComparison.Ordinal)).Select(s => s.Key), Is.Empty);
            Assert.That(after.Value("hardened_gateway_requests_total", "proxy=\"ai\",code=\"200\""), Is.EqualTo(3));
        });
    }

    /// <summary>ai: 3 x 200 and 2 x 500; plain: 1 x 200; down: 1 x 502 (unreachable).</summary>
    internal static async Task SendScriptedTrafficAsync(GatewayScenario scenario)
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.That(await scenario.GetAsync("/api/ai/ok"), Is.EqualTo(200));
        }

        for (var i = 0; i < 2; i++)
        {
            Assert.That(await scenario.GetAsync("/api/ai/fail"), Is.EqualTo(500));
        }

        Assert.That(await scenario.GetAsync("/api/plain/ok"), Is.EqualTo(200));
        Assert.That(await scenario.GetAsync("/api/down/x"), Is.EqualTo(502));
        await scenario.WaitForRecordedRequestsAsync(7);
    }

    internal static async Task<PrometheusScrape> ScrapeAsync(GatewayScenario scenario, string? token = null)
    {
        using var request = TestAuthentication.CreateRequest(HttpMethod.Get, "/api/gateway/metrics", token);
        using var response = await scenario.Client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return PrometheusScrape.Parse(await response.Content.ReadAsStringAsync());
    }

    private static Task<GatewayScenario> StartAsync(CollectorRegistry registry) =>
        GatewayScenario.StartAsync(
            services => services.AddHardenedGatewayPrometheus(options =>
            {
                options.Registry = registry;
                options.AllowAnonymous = true;
            }),
            app => app.MapHardenedGatewayMetrics());
}
