using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Metrics;

/// <summary>
/// The usual set-up: the app's metrics and the gateway's in prometheus-net's default registry, whose
/// meter adapter exports every .NET meter. The only test here that uses the (process-wide) default registry.
/// </summary>
[TestFixture]
public sealed class DefaultRegistryTests
{
    private static readonly string[] GatewayFamilies =
    [
        "hardened_gateway_requests_total",
        "hardened_gateway_errors_total",
        "hardened_gateway_request_duration_seconds",
        "hardened_gateway_upstream_duration_seconds",
        "hardened_gateway_active_requests",
        "hardened_gateway_circuit_breaker_state",
        "hardened_gateway_concurrency_limit",
        "hardened_gateway_concurrency_available",
        "hardened_gateway_queue_length",
        "hardened_gateway_buffer_pool_rented_total",
        "hardened_gateway_buffer_pool_fallback_total",
        "hardened_gateway_tunnels_active",
    ];

    [Test]
    public async Task Scrape_DefaultRegistry_GatewaySeriesOnceNotReExportedByTheMeterAdapter()
    {
        PrometheusMetrics.CreateCounter("app_default_registry_orders_total", "Orders the app took.").Inc(2);
        await using var scenario = await GatewayScenario.StartAsync(
            services => services.AddHardenedGatewayPrometheus(options => options.AllowAnonymous = true),
            app => app.MapHardenedGatewayMetrics());

        // The first collection of the default registry starts prometheus-net's meter adapter; the
        // traffic after it is what the adapter would see.
        await ScrapeTests.ScrapeAsync(scenario);
        await ScrapeTests.SendScriptedTrafficAsync(scenario);
        var scrape = await ScrapeTests.ScrapeAsync(scenario);

        var names = scrape.Types.Select(t => t.Name).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(names.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "every family once");
            Assert.That(names.Where(n => n.Contains("hardened", StringComparison.OrdinalIgnoreCase)), Is.EquivalentTo(GatewayFamilies), "the gateway's families, and no adapter copy of its meter");
            Assert.That(scrape.TypeOf("hardened_gateway_requests_total"), Is.EqualTo("counter"));
            Assert.That(scrape.Value("hardened_gateway_requests_total", "proxy=\"ai\",code=\"200\""), Is.EqualTo(3));
            Assert.That(scrape.Value("app_default_registry_orders_total"), Is.EqualTo(2));

            // .NET's own client meter (connection and per-authority request series) comes through the
            // adapter; the gateway publishes nothing of the kind itself.
            Assert.That(names.Any(n => n.StartsWith("system_net_http_", StringComparison.Ordinal)), Is.True, "System.Net.Http series from the adapter");
        });

        // prometheus-net's own adapters name some gauges *_total and *_count, which promtool lints;
        // the scrape must still parse, and nothing of the gateway's may be among the findings.
        var (exitCode, findings) = await Promtool.CheckMetricsAsync(scrape.Text);
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero.Or.EqualTo(Promtool.LintFindingsExitCode), findings);
            Assert.That(findings, Does.Not.Contain("hardened_gateway"));
        });
    }
}
