using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Metrics;

/// <summary>
/// Not a timing assertion: prints how long one collection of the prometheus-net registry takes with
/// 100 proxies x 10 status codes bridged (SC-006), for the record. Run with
/// <c>dotnet test --filter "FullyQualifiedName~ScrapeTimingProbe"</c>.
/// </summary>
[TestFixture]
[Explicit("Prints scrape times; asserts nothing about speed.")]
public sealed class ScrapeTimingProbe
{
    [Test]
    public async Task Collect_HundredProxiesTenCodes_PrintsScrapeTime()
    {
        var registry = PrometheusMetrics.NewCustomRegistry();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddHardenedProxy(options =>
        {
            for (var p = 0; p < 100; p++)
            {
                options.Proxies[$"proxy-{p:D3}"] = new ProxyOptions { PathPrefix = $"/p{p:D3}", Upstream = "http://127.0.0.1:9/", MaxConcurrent = 10 };
            }
        });
        services.AddHardenedGatewayPrometheus(options => options.Registry = registry);
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<PrometheusBridge>();
        int[] codes = [200, 201, 204, 301, 400, 404, 429, 499, 502, 503];
        foreach (var upstream in provider.GetRequiredService<HardenedProxyRegistry>().Upstreams)
        {
            foreach (var code in codes)
            {
                upstream.Metrics.RecordRequest(code, code == 429 ? GatewayErrorReason.ConcurrencyLimit : GatewayErrorReason.None, TimeSpan.FromMilliseconds(code), TimeSpan.FromMilliseconds(1));
            }
        }

        for (var i = 0; i < 20; i++)
        {
            await registry.CollectAndExportAsTextAsync(Stream.Null);
        }

        const int Runs = 200;
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < Runs; i++)
        {
            await registry.CollectAndExportAsTextAsync(Stream.Null);
        }

        stopwatch.Stop();
        using var sample = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(sample);
        TestContext.Out.WriteLine($"collect + export, 100 proxies x 10 codes ({sample.Length} bytes): {stopwatch.Elapsed.TotalMilliseconds / Runs:0.000} ms per scrape");
    }
}
