using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Metrics;

/// <summary>The adaptive limit in the metrics: the concurrency gauges follow the current limit; the baseline gauge exists only for adaptive proxies.</summary>
[TestFixture]
public sealed class AdaptiveBaselineGaugeTests
{
    [Test]
    public void RenderPrometheusText_AdaptiveProxy_ReportsCurrentLimitAndBaseline()
    {
        var time = new FakeTimeProvider();
        var limiter = new ConcurrencyLimiter(new AdaptiveConcurrencyOptions { Enabled = true, InitialLimit = 4 }, time);
        using var collector = new MetricsCollector();
        collector.ForProxy("ai", limiter, null);
        collector.ForProxy("static", new ConcurrencyLimiter(5), null);
        limiter.TryAcquire();
        limiter.TryAcquire();
        FeedWindow(time, limiter, TimeSpan.FromMilliseconds(50)); // baseline 50 ms; 2 of 4 in use: grows to 4 x sqrt(2) = 5

        var text = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("# TYPE hardened_gateway_adaptive_baseline_seconds gauge\n"));
            Assert.That(text, Does.Contain("hardened_gateway_adaptive_baseline_seconds{proxy=\"ai\"} 0.05\n"));
            Assert.That(text, Does.Not.Contain("hardened_gateway_adaptive_baseline_seconds{proxy=\"static\"}"));
            Assert.That(text, Does.Contain("hardened_gateway_concurrency_limit{proxy=\"ai\"} 5\n"));
            Assert.That(text, Does.Contain("hardened_gateway_concurrency_available{proxy=\"ai\"} 3\n"));
        });
    }

    [Test]
    public void Meter_AdaptiveProxy_ObservesBaselineInSeconds()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var time = new FakeTimeProvider();
        var limiter = new ConcurrencyLimiter(new AdaptiveConcurrencyOptions { Enabled = true, InitialLimit = 4 }, time);
        using var collector = new MetricsCollector(factory);
        collector.ForProxy("ai", limiter, null);
        using var baseline = new MetricCollector<double>(factory, MetricsCollector.MeterName, "hardened_gateway_adaptive_baseline_seconds");
        FeedWindow(time, limiter, TimeSpan.FromMilliseconds(80));

        baseline.RecordObservableInstruments();

        var last = baseline.LastMeasurement!;
        Assert.That(last.Value, Is.EqualTo(0.08).Within(1e-9));
        Assert.That(last.Tags["proxy"], Is.EqualTo("ai"));
    }

    private static void FeedWindow(FakeTimeProvider time, ConcurrencyLimiter limiter, TimeSpan latency)
    {
        var windows = limiter.Adaptive!.WindowCount;
        time.Advance(latency);
        for (var i = 0; i < 100 && limiter.Adaptive.WindowCount == windows; i++)
        {
            var headersAt = time.GetTimestamp();
            limiter.OnResponseHeaders(headersAt - (long)(latency.TotalSeconds * time.TimestampFrequency), headersAt, 200);
            time.Advance(TimeSpan.FromMilliseconds(40));
        }
    }
}
