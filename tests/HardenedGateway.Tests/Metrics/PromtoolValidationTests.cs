using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Metrics;

/// <summary>
/// Validates the renderer with Prometheus' own linter, <c>promtool check metrics</c>. CI installs it
/// (Debian/Ubuntu package <c>prometheus</c>) and requires it; elsewhere a missing promtool is reported as ignored.
/// </summary>
[TestFixture]
public sealed class PromtoolValidationTests
{
    [Test]
    public async Task WritePrometheusText_EveryFamilyPresent_PassesPromtoolCheckMetrics() =>
        await Promtool.AssertPassesCheckMetricsAsync(RenderEveryFamily());

    private static string RenderEveryFamily()
    {
        var pool = new BytesPool(maxBuffers: 1);
        _ = pool.Rent();
        _ = pool.Rent();
        var breaker = new CircuitBreaker(new CircuitBreakerOptions { FailureThreshold = 1 }, new FakeTimeProvider());
        Assert.That(breaker.TryAdmit(out var permit), Is.True);
        breaker.OnFailure(permit);

        using var collector = new MetricsCollector(bytesPool: pool);
        var ai = collector.ForProxy("ai", new ConcurrencyLimiter(5), breaker);
        var odd = collector.ForProxy("we\"ird\\name\nline", null, null);
        var adaptive = new ConcurrencyLimiter(new AdaptiveConcurrencyOptions { Enabled = true, InitialLimit = 4 }, new FakeTimeProvider());
        collector.ForProxy("adaptive", adaptive, null);
        ai.RequestStarted();
        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(42), TimeSpan.FromMilliseconds(40));
        ai.RecordRequest(503, GatewayErrorReason.CircuitOpen, TimeSpan.FromTicks(3), null);
        odd.RecordRequest(499, GatewayErrorReason.ClientAborted, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));
        return collector.RenderPrometheusText();
    }
}
