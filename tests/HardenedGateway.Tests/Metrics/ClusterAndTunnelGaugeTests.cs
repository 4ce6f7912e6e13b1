using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HardenedGateway.Tests.Metrics;

/// <summary>The gauges fed by an admission gate (DESIGN.md: cluster_in_flight, cluster_degraded) and by tunnels (tunnels_active),
/// in both the Prometheus text and the meter, and their re-pointing on a reload.</summary>
[TestFixture]
public sealed class ClusterAndTunnelGaugeTests
{
    [Test]
    public void RenderPrometheusText_ProxyWithGate_RendersClusterInFlightAndDegradedOnlyForIt()
    {
        using var collector = new MetricsCollector();
        var gate = new StubGate { ClusterInFlight = 7, IsDegraded = true };
        collector.ForProxyWithGate("coordinated", null, null, gate);
        collector.ForProxy("plain", null, null);

        var text = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_cluster_in_flight"), Is.EqualTo(new[] { "hardened_gateway_cluster_in_flight{proxy=\"coordinated\"} 7" }));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_cluster_degraded"), Is.EqualTo(new[] { "hardened_gateway_cluster_degraded{proxy=\"coordinated\"} 1" }));
        });

        gate.IsDegraded = false;
        gate.ClusterInFlight = 0;
        text = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_cluster_in_flight"), Is.EqualTo(new[] { "hardened_gateway_cluster_in_flight{proxy=\"coordinated\"} 0" }));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_cluster_degraded"), Is.EqualTo(new[] { "hardened_gateway_cluster_degraded{proxy=\"coordinated\"} 0" }));
        });
    }

    [Test]
    public void ForProxyWithGate_ReloadChangesOnlyGateOrOnlyBreaker_RepointsGauges()
    {
        using var collector = new MetricsCollector();
        var limiter = new ConcurrencyLimiter(4);
        var breaker = new CircuitBreaker(new CircuitBreakerOptions { FailureThreshold = 1 }, TimeProvider.System);
        var first = new StubGate { ClusterInFlight = 1 };
        var second = new StubGate { ClusterInFlight = 2 };
        var proxy = collector.ForProxyWithGate("ai", limiter, breaker: null, first);

        var again = collector.ForProxyWithGate("ai", limiter, breaker: null, second);

        Assert.Multiple(() =>
        {
            Assert.That(again, Is.SameAs(proxy));
            Assert.That(proxy.AdmissionGate, Is.SameAs(second), "only the gate changed");
        });

        Assert.That(breaker.TryAdmit(out var permit), Is.True);
        breaker.OnFailure(permit);
        collector.ForProxyWithGate("ai", limiter, breaker, second);

        Assert.Multiple(() =>
        {
            Assert.That(proxy.CircuitStateValue, Is.EqualTo((int)CircuitState.Open), "only the breaker changed");
            Assert.That(
                PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_circuit_breaker_state"),
                Is.EqualTo(new[] { "hardened_gateway_circuit_breaker_state{proxy=\"ai\"} 1" }));
            Assert.That(
                PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_cluster_in_flight"),
                Is.EqualTo(new[] { "hardened_gateway_cluster_in_flight{proxy=\"ai\"} 2" }));
        });

        var otherLimiter = new ConcurrencyLimiter(9);
        collector.ForProxyWithGate("ai", otherLimiter, breaker, second);

        Assert.That(
            PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_concurrency_limit"),
            Is.EqualTo(new[] { "hardened_gateway_concurrency_limit{proxy=\"ai\"} 9" }),
            "only the limiter changed");
    }

    [Test]
    public void ObservableGauges_ClusterAndTunnels_ReflectGateAndOpenTunnels()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var collector = new MetricsCollector(factory);
        using var inFlight = new MetricCollector<long>(factory, MetricsCollector.MeterName, "hardened_gateway_cluster_in_flight");
        using var degraded = new MetricCollector<long>(factory, MetricsCollector.MeterName, "hardened_gateway_cluster_degraded");
        using var tunnels = new MetricCollector<long>(factory, MetricsCollector.MeterName, "hardened_gateway_tunnels_active");
        collector.ForProxyWithGate("coordinated", null, null, new StubGate { ClusterInFlight = 5, IsDegraded = true });
        var plain = collector.ForProxy("plain", null, null);
        Assert.That(plain.TryStartTunnel(3), Is.True);

        inFlight.RecordObservableInstruments();
        degraded.RecordObservableInstruments();
        tunnels.RecordObservableInstruments();

        Assert.Multiple(() =>
        {
            Assert.That(Values(inFlight), Is.EqualTo(new[] { ("coordinated", 5L) }));
            Assert.That(Values(degraded), Is.EqualTo(new[] { ("coordinated", 1L) }));
            Assert.That(Values(tunnels), Is.EqualTo(new[] { ("coordinated", 0L), ("plain", 1L) }));
        });
    }

    [Test]
    public void RecordRequest_CodesAboveFiveHundredNinetyNine_CounterCarriesTheCode()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var collector = new MetricsCollector(factory);
        using var requests = new MetricCollector<long>(factory, MetricsCollector.MeterName, "hardened_gateway_requests_total");
        var ai = collector.ForProxy("ai", null, null);

        foreach (var code in new[] { 100, 599, 600, 999 })
        {
            ai.RecordRequest(code, GatewayErrorReason.None, TimeSpan.Zero, null);
        }

        Assert.That(
            requests.GetMeasurementSnapshot().Select(m => Convert.ToInt32(m.Tags["code"], System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            Is.EqualTo(new[] { 100, 599, 600, 999 }));
    }

    private static (string Proxy, long Value)[] Values(MetricCollector<long> collector) =>
        collector.GetMeasurementSnapshot().Select(m => ((string)m.Tags["proxy"]!, m.Value)).OrderBy(v => v.Item1, StringComparer.Ordinal).ToArray();

    private sealed class StubGate : IAdmissionGate
    {
        public bool IsDegraded { get; set; }

        public long ClusterInFlight { get; set; }

        public ValueTask<AdmissionTicket> EnterAsync(CircuitPermit permit, CancellationToken cancellationToken) => throw new NotSupportedException();

        public void Leave(in AdmissionTicket ticket) => throw new NotSupportedException();
    }
}
