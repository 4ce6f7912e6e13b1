using System.Text;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Metrics;

/// <summary>The bridge from the gateway's meter into prometheus-net, without a web host.</summary>
[TestFixture]
public sealed class PrometheusBridgeTests
{
    [Test]
    public async Task RecordRequest_WhileBridged_AllocatesNothing()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        await using var services = BuildServices(registry);
        var proxy = Bridge(services, "ai");
        for (var i = 0; i < 100; i++)
        {
            proxy.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(i), TimeSpan.FromMilliseconds(i));
            proxy.RecordRequest(503, GatewayErrorReason.CircuitOpen, TimeSpan.FromMilliseconds(i), null);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            proxy.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(i), TimeSpan.FromMilliseconds(i));
            proxy.RecordRequest(503, GatewayErrorReason.CircuitOpen, TimeSpan.FromMilliseconds(i), null);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var scrape = await CollectAsync(registry);

        Assert.Multiple(() =>
        {
            Assert.That(allocated, Is.Zero, "bytes allocated by 2,000 recorded requests");
            Assert.That(scrape.Value("hardened_gateway_requests_total", "proxy=\"ai\",code=\"200\""), Is.EqualTo(1_100));
            Assert.That(scrape.Value("hardened_gateway_errors_total", "proxy=\"ai\",reason=\"circuit_open\""), Is.EqualTo(1_100));
        });
    }

    [Test]
    public async Task Collect_TwoGatewaysInOneProcess_EachRegistryHasOnlyItsOwn()
    {
        var first = PrometheusMetrics.NewCustomRegistry();
        var second = PrometheusMetrics.NewCustomRegistry();
        await using var firstServices = BuildServices(first);
        await using var secondServices = BuildServices(second);

        Bridge(firstServices, "ai").RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(4));
        Bridge(secondServices, "ai");

        var firstScrape = await CollectAsync(first);
        var secondScrape = await CollectAsync(second);

        Assert.Multiple(() =>
        {
            Assert.That(firstScrape.Value("hardened_gateway_requests_total", "proxy=\"ai\",code=\"200\""), Is.EqualTo(1));
            Assert.That(secondScrape.Samples.Where(s => s.Name == "hardened_gateway_requests_total"), Is.Empty);
            Assert.That(secondScrape.Value("hardened_gateway_request_duration_seconds_count", "proxy=\"ai\""), Is.Zero);
        });
    }

    [Test]
    public async Task Dispose_ThenANewGatewayOnTheSameRegistry_StartsFromZero()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        await using (var services = BuildServices(registry))
        {
            var proxy = Bridge(services, "ai");
            proxy.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(4));
            Assume.That((await CollectAsync(registry)).Value("hardened_gateway_requests_total", "proxy=\"ai\",code=\"200\""), Is.EqualTo(1));
        }

        var afterDispose = await CollectAsync(registry);
        await using var next = BuildServices(registry);
        Bridge(next, "ai").RecordRequest(404, GatewayErrorReason.None, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(4));
        var scrape = await CollectAsync(registry);

        Assert.Multiple(() =>
        {
            Assert.That(afterDispose.Samples.Where(s => s.Labels.Contains("proxy=", StringComparison.Ordinal)), Is.Empty, "no series left behind");
            Assert.That(scrape.Samples.Where(s => s.Name == "hardened_gateway_requests_total").Select(s => s.Key), Is.EqualTo(new[] { "hardened_gateway_requests_total{proxy=\"ai\",code=\"404\"}" }));
            Assert.That(scrape.Value("hardened_gateway_request_duration_seconds_count", "proxy=\"ai\""), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Collect_Gauges_FollowTheLimiter()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        await using var services = BuildServices(registry);
        Bridge(services, "ai");
        var limiter = services.GetRequiredService<HardenedProxyRegistry>().Upstreams.Single(u => u.Name == "ai").Limiter!;
        Assert.That(limiter.TryAcquire(), Is.True);

        var scrape = await CollectAsync(registry);

        Assert.Multiple(() =>
        {
            Assert.That(scrape.Value("hardened_gateway_concurrency_limit", "proxy=\"ai\""), Is.EqualTo(2));
            Assert.That(scrape.Value("hardened_gateway_concurrency_available", "proxy=\"ai\""), Is.EqualTo(1));
            Assert.That(scrape.Value("hardened_gateway_queue_length", "proxy=\"ai\""), Is.Zero);
            Assert.That(scrape.Value("hardened_gateway_circuit_breaker_state", "proxy=\"ai\""), Is.Zero);
        });
    }

    /// <summary>One proxy, <c>ai</c>, with a limiter of 2; the bridge started as the web host's startup filter would.</summary>
    private static ServiceProvider BuildServices(CollectorRegistry registry)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddHardenedProxy(options => options.Proxies["ai"] = new ProxyOptions { PathPrefix = "/api/ai", Upstream = "http://127.0.0.1:9/", MaxConcurrent = 2 });
        services.AddHardenedGatewayPrometheus(options => options.Registry = registry);
        return services.BuildServiceProvider();
    }

    private static ProxyMetrics Bridge(IServiceProvider services, string proxy)
    {
        _ = services.GetRequiredService<PrometheusBridge>();
        return services.GetRequiredService<HardenedProxyRegistry>().Upstreams.Single(u => u.Name == proxy).Metrics;
    }

    private static async Task<PrometheusScrape> CollectAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return PrometheusScrape.Parse(Encoding.UTF8.GetString(stream.ToArray()));
    }
}
