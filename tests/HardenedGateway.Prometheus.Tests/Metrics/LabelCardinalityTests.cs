using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Metrics;

/// <summary>Labels are bounded: never a path, query, header or client address (DESIGN.md "Metrics").</summary>
[TestFixture]
public sealed class LabelCardinalityTests
{
    private const int RequestCount = 10_000;

    [Test]
    public async Task Scrape_10000DistinctRandomPaths_AddNoSeries()
    {
        await using var scenario = await GatewayScenario.StartAsync(
            services => services.AddHardenedGatewayPrometheus(options =>
            {
                options.Registry = PrometheusMetrics.NewCustomRegistry();
                options.AllowAnonymous = true;
            }),
            app => app.MapHardenedGatewayMetrics());

        // "plain" has no limiter, so parallel requests are never turned away. One request first, so
        // that the series of a 200 on it exist before counting.
        Assert.That(await scenario.GetAsync("/api/plain/warm-up"), Is.EqualTo(200));
        await scenario.WaitForRecordedRequestsAsync(1);
        var before = await ScrapeTests.ScrapeAsync(scenario);

        var next = 0;
        var workers = Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= RequestCount)
            {
                var path = $"/api/plain/{Guid.NewGuid():N}/{Random.Shared.Next()}?q={Guid.NewGuid():N}";
                Assert.That(await scenario.GetAsync(path), Is.EqualTo(200), path);
            }
        });
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(5));
        await scenario.WaitForRecordedRequestsAsync(RequestCount + 1);
        var after = await ScrapeTests.ScrapeAsync(scenario);

        Assert.Multiple(() =>
        {
            Assert.That(after.Text.Split('\n').Length, Is.EqualTo(before.Text.Split('\n').Length), "lines of the scrape");
            Assert.That(after.Samples.Select(s => s.Key), Is.EqualTo(before.Samples.Select(s => s.Key)), "the same series");
            Assert.That(after.Value("hardened_gateway_requests_total", "proxy=\"plain\",code=\"200\""), Is.EqualTo(RequestCount + 1));
        });
    }
}
