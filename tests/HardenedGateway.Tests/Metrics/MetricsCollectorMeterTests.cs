using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Metrics;

[TestFixture]
public sealed class MetricsCollectorMeterTests
{
    private ServiceProvider _services = null!;

    /// <summary>Gets the container's meter factory; the container owns and disposes it.</summary>
    private IMeterFactory MeterFactory => _services.GetRequiredService<IMeterFactory>();

    [SetUp]
    public void SetUp() => _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [TearDown]
    public void TearDown() => _services.Dispose();

    [Test]
    public void Constructor_WithMeterFactory_CreatesMeterNamedHardenedGatewayThroughFactory()
    {
        using var collector = new MetricsCollector(MeterFactory);

        Assert.Multiple(() =>
        {
            Assert.That(collector.Meter.Name, Is.EqualTo(MetricsCollector.MeterName));
            Assert.That(collector.Meter.Scope, Is.SameAs(MeterFactory));
        });
    }

    [Test]
    public void RecordRequest_CountersObserved_CarryProxyCodeAndReasonTags()
    {
        using var collector = new MetricsCollector(MeterFactory);
        using var requests = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_requests_total");
        using var errors = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_errors_total");
        var ai = collector.ForProxy("ai", null, null);

        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(5));
        ai.RecordRequest(503, GatewayErrorReason.CircuitOpen, TimeSpan.FromMilliseconds(1), null);

        var requestMeasurements = requests.GetMeasurementSnapshot();
        var errorMeasurements = errors.GetMeasurementSnapshot();
        Assert.Multiple(() =>
        {
            Assert.That(requestMeasurements, Has.Count.EqualTo(2));
            Assert.That(requestMeasurements[0].Value, Is.EqualTo(1));
            Assert.That(requestMeasurements[0].Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["proxy"] = "ai", ["code"] = 200 }));
            Assert.That(requestMeasurements[1].Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["proxy"] = "ai", ["code"] = 503 }));
            Assert.That(errorMeasurements, Has.Count.EqualTo(1));
            Assert.That(errorMeasurements[0].Value, Is.EqualTo(1));
            Assert.That(errorMeasurements[0].Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["proxy"] = "ai", ["reason"] = "circuit_open" }));
        });
    }

    [Test]
    public void RecordRequest_HistogramsObserved_RecordSecondsWithProxyTagAndBucketAdvice()
    {
        using var collector = new MetricsCollector(MeterFactory);
        using var durations = new MetricCollector<double>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_request_duration_seconds");
        using var upstream = new MetricCollector<double>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_upstream_duration_seconds");
        var ai = collector.ForProxy("ai", null, null);

        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(125));
        ai.RecordRequest(429, GatewayErrorReason.ConcurrencyLimit, TimeSpan.FromMilliseconds(2), null);

        var histogram = (Histogram<double>)durations.Instrument!;
        Assert.Multiple(() =>
        {
            Assert.That(durations.GetMeasurementSnapshot().Select(m => m.Value), Is.EqualTo(new[] { 0.25, 0.002 }));
            Assert.That(durations.LastMeasurement!.Tags, Is.EquivalentTo(new Dictionary<string, object?> { ["proxy"] = "ai" }));
            Assert.That(upstream.GetMeasurementSnapshot().Select(m => m.Value), Is.EqualTo(new[] { 0.125 }));
            Assert.That(histogram.Unit, Is.EqualTo("s"));
            Assert.That(histogram.Advice?.HistogramBucketBoundaries, Is.EqualTo(new[] { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }));
            Assert.That(((Histogram<double>)upstream.Instrument!).Advice?.HistogramBucketBoundaries, Is.EqualTo(MetricsCollector.DurationBucketBoundaries));
        });
    }

    [Test]
    public void ObservableGauges_Collected_ReflectActiveRequestsBreakerAndLimiter()
    {
        var time = new FakeTimeProvider();
        var breaker = new CircuitBreaker(new CircuitBreakerOptions { FailureThreshold = 1 }, time);
        Assert.That(breaker.TryAdmit(out var permit), Is.True);
        breaker.OnFailure(permit);
        var limiter = new ConcurrencyLimiter(3);
        Assert.That(limiter.TryAcquire(), Is.True);
        using var collector = new MetricsCollector(MeterFactory);
        using var active = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_active_requests");
        using var state = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_circuit_breaker_state");
        using var limit = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_concurrency_limit");
        using var available = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_concurrency_available");
        using var queue = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_queue_length");
        var ai = collector.ForProxy("ai", limiter, breaker);
        collector.ForProxy("plain", null, null);
        ai.RequestStarted();
        ai.RequestStarted();

        active.RecordObservableInstruments();
        state.RecordObservableInstruments();
        limit.RecordObservableInstruments();
        available.RecordObservableInstruments();
        queue.RecordObservableInstruments();

        Assert.Multiple(() =>
        {
            Assert.That(Values(active), Is.EqualTo(new[] { ("ai", 2L), ("plain", 0L) }));
            Assert.That(Values(state), Is.EqualTo(new[] { ("ai", 1L), ("plain", 0L) }));
            Assert.That(Values(limit), Is.EqualTo(new[] { ("ai", 3L) }));
            Assert.That(Values(available), Is.EqualTo(new[] { ("ai", 2L) }));
            Assert.That(Values(queue), Is.EqualTo(new[] { ("ai", 0L) }));
        });
    }

    [Test]
    public void ObservableCounters_Collected_ReflectBytesPool()
    {
        var pool = new BytesPool(maxBuffers: 1);
        _ = pool.Rent();
        _ = pool.Rent();
        using var collector = new MetricsCollector(MeterFactory, pool);
        using var rented = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_buffer_pool_rented_total");
        using var fallback = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_buffer_pool_fallback_total");

        rented.RecordObservableInstruments();
        fallback.RecordObservableInstruments();

        Assert.Multiple(() =>
        {
            Assert.That(rented.LastMeasurement?.Value, Is.EqualTo(2));
            Assert.That(rented.LastMeasurement?.Tags, Is.Empty);
            Assert.That(fallback.LastMeasurement?.Value, Is.EqualTo(1));
        });
    }

    [Test]
    public void Dispose_WithoutMeterFactory_DisposesOwnMeter()
    {
        var collector = new MetricsCollector();
        using var requests = new MetricCollector<long>(collector.Meter, "hardened_gateway_requests_total");
        var ai = collector.ForProxy("ai", null, null);
        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.Zero, null);

        collector.Dispose();
        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.Zero, null);

        Assert.That(requests.GetMeasurementSnapshot(), Has.Count.EqualTo(1));
    }

    [Test]
    public void Dispose_WithMeterFactory_LeavesFactoryMeterToFactory()
    {
        var collector = new MetricsCollector(MeterFactory);
        using var requests = new MetricCollector<long>(MeterFactory, MetricsCollector.MeterName, "hardened_gateway_requests_total");
        var ai = collector.ForProxy("ai", null, null);

        collector.Dispose();
        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.Zero, null);

        Assert.That(requests.GetMeasurementSnapshot(), Has.Count.EqualTo(1));
    }

    private static (string Proxy, long Value)[] Values(MetricCollector<long> collector) =>
        collector.GetMeasurementSnapshot().Select(m => ((string)m.Tags["proxy"]!, m.Value)).ToArray();
}
