using System.Buffers;
using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Metrics;

[TestFixture]
public sealed class MetricsCollectorPrometheusTextTests
{
    [Test]
    public void RenderPrometheusText_ScriptedOutcomes_RendersExactText()
    {
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", limiter: null, breaker: null);

        ai.RecordRequest(200, GatewayErrorReason.None, Ms(5), Ms(4));
        ai.RecordRequest(200, GatewayErrorReason.None, Ms(200), Ms(150));
        ai.RecordRequest(200, GatewayErrorReason.None, Ms(1_500), Ms(1_400));
        ai.RecordRequest(429, GatewayErrorReason.ConcurrencyLimit, Ms(1), upstreamDuration: null);
        ai.RecordRequest(503, GatewayErrorReason.CircuitOpen, Ms(2), upstreamDuration: null);
        ai.RecordRequest(499, GatewayErrorReason.ClientAborted, Ms(12_000), Ms(50));

        var text = collector.RenderPrometheusText();

        const string Expected = """
            # HELP hardened_gateway_requests_total Finished requests by the status the client got; a client abort counts as 499.
            # TYPE hardened_gateway_requests_total counter
            hardened_gateway_requests_total{proxy="ai",code="200"} 3
            hardened_gateway_requests_total{proxy="ai",code="429"} 1
            hardened_gateway_requests_total{proxy="ai",code="499"} 1
            hardened_gateway_requests_total{proxy="ai",code="503"} 1
            # HELP hardened_gateway_errors_total Requests that ended without a normal upstream answer, by reason.
            # TYPE hardened_gateway_errors_total counter
            hardened_gateway_errors_total{proxy="ai",reason="concurrency_limit"} 1
            hardened_gateway_errors_total{proxy="ai",reason="circuit_open"} 1
            hardened_gateway_errors_total{proxy="ai",reason="upstream_unreachable"} 0
            hardened_gateway_errors_total{proxy="ai",reason="upstream_timeout"} 0
            hardened_gateway_errors_total{proxy="ai",reason="bad_upstream_response"} 0
            hardened_gateway_errors_total{proxy="ai",reason="upgrade_rejected"} 0
            hardened_gateway_errors_total{proxy="ai",reason="invalid_path"} 0
            hardened_gateway_errors_total{proxy="ai",reason="upstream_aborted"} 0
            hardened_gateway_errors_total{proxy="ai",reason="client_aborted"} 1
            hardened_gateway_errors_total{proxy="ai",reason="tunnel_limit"} 0
            hardened_gateway_errors_total{proxy="ai",reason="tunnel_idle_timeout"} 0
            hardened_gateway_errors_total{proxy="ai",reason="tunnel_lifetime"} 0
            # HELP hardened_gateway_request_duration_seconds Time from arrival to the end of the response, including the gateway's own answers.
            # TYPE hardened_gateway_request_duration_seconds histogram
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="0.01"} 3
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="0.05"} 3
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="0.1"} 3
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="0.25"} 4
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="0.5"} 4
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="1"} 4
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="2.5"} 5
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="5"} 5
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="10"} 5
            hardened_gateway_request_duration_seconds_bucket{proxy="ai",le="+Inf"} 6
            hardened_gateway_request_duration_seconds_sum{proxy="ai"} 13.708
            hardened_gateway_request_duration_seconds_count{proxy="ai"} 6
            # HELP hardened_gateway_upstream_duration_seconds Time from sending to the upstream to its response headers, for requests that reached the upstream.
            # TYPE hardened_gateway_upstream_duration_seconds histogram
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="0.01"} 1
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="0.05"} 2
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="0.1"} 2
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="0.25"} 3
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="0.5"} 3
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="1"} 3
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="2.5"} 4
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="5"} 4
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="10"} 4
            hardened_gateway_upstream_duration_seconds_bucket{proxy="ai",le="+Inf"} 4
            hardened_gateway_upstream_duration_seconds_sum{proxy="ai"} 1.604
            hardened_gateway_upstream_duration_seconds_count{proxy="ai"} 4
            # HELP hardened_gateway_active_requests Requests admitted and in flight (queued ones not included).
            # TYPE hardened_gateway_active_requests gauge
            hardened_gateway_active_requests{proxy="ai"} 0
            # HELP hardened_gateway_circuit_breaker_state Circuit breaker state: 0 closed, 1 open, 2 half-open (0 when the breaker is off).
            # TYPE hardened_gateway_circuit_breaker_state gauge
            hardened_gateway_circuit_breaker_state{proxy="ai"} 0
            # HELP hardened_gateway_buffer_pool_rented_total Body-copy buffers handed out by the pool, pooled or fallback.
            # TYPE hardened_gateway_buffer_pool_rented_total counter
            hardened_gateway_buffer_pool_rented_total 0
            # HELP hardened_gateway_buffer_pool_fallback_total Body-copy buffers allocated because the pool was empty (EC-005).
            # TYPE hardened_gateway_buffer_pool_fallback_total counter
            hardened_gateway_buffer_pool_fallback_total 0
            # HELP hardened_gateway_tunnels_active WebSocket tunnels open through the proxy (WS-002).
            # TYPE hardened_gateway_tunnels_active gauge
            hardened_gateway_tunnels_active{proxy="ai"} 0

            """;
        Assert.That(PrometheusText.Lines(text), Is.EqualTo(PrometheusText.Lines(Expected)));
    }

    [Test]
    public void RenderPrometheusText_NoProxies_RendersOnlyPoolCounters()
    {
        using var collector = new MetricsCollector();

        var text = collector.RenderPrometheusText();

        Assert.That(PrometheusText.Lines(text), Is.EqualTo(new[]
        {
            "# HELP hardened_gateway_buffer_pool_rented_total Body-copy buffers handed out by the pool, pooled or fallback.",
            "# TYPE hardened_gateway_buffer_pool_rented_total counter",
            "hardened_gateway_buffer_pool_rented_total 0",
            "# HELP hardened_gateway_buffer_pool_fallback_total Body-copy buffers allocated because the pool was empty (EC-005).",
            "# TYPE hardened_gateway_buffer_pool_fallback_total counter",
            "hardened_gateway_buffer_pool_fallback_total 0",
        }));
    }

    [Test]
    public void RenderPrometheusText_SeveralProxies_SortsProxiesOrdinallyAndCodesAscending()
    {
        using var collector = new MetricsCollector();
        var zeta = collector.ForProxy("zeta", null, null);
        var alpha = collector.ForProxy("alpha", null, null);
        var upper = collector.ForProxy("Beta", null, null);
        zeta.RecordRequest(504, GatewayErrorReason.UpstreamTimeout, Ms(1), null);
        zeta.RecordRequest(101, GatewayErrorReason.None, Ms(1), Ms(1));
        alpha.RecordRequest(999, GatewayErrorReason.None, Ms(1), Ms(1));
        alpha.RecordRequest(200, GatewayErrorReason.None, Ms(1), Ms(1));
        upper.RecordRequest(404, GatewayErrorReason.None, Ms(1), Ms(1));

        var text = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_requests_total"), Is.EqualTo(new[]
            {
                """hardened_gateway_requests_total{proxy="Beta",code="404"} 1""",
                """hardened_gateway_requests_total{proxy="alpha",code="200"} 1""",
                """hardened_gateway_requests_total{proxy="alpha",code="999"} 1""",
                """hardened_gateway_requests_total{proxy="zeta",code="101"} 1""",
                """hardened_gateway_requests_total{proxy="zeta",code="504"} 1""",
            }));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_active_requests"), Is.EqualTo(new[]
            {
                """hardened_gateway_active_requests{proxy="Beta"} 0""",
                """hardened_gateway_active_requests{proxy="alpha"} 0""",
                """hardened_gateway_active_requests{proxy="zeta"} 0""",
            }));
            Assert.That(PrometheusText.Families(text), Is.EqualTo(new[]
            {
                "hardened_gateway_requests_total",
                "hardened_gateway_errors_total",
                "hardened_gateway_request_duration_seconds",
                "hardened_gateway_upstream_duration_seconds",
                "hardened_gateway_active_requests",
                "hardened_gateway_circuit_breaker_state",
                "hardened_gateway_buffer_pool_rented_total",
                "hardened_gateway_buffer_pool_fallback_total",
                "hardened_gateway_tunnels_active",
            }));
        });
    }

    [Test]
    public void RenderPrometheusText_ProxyNameWithSpecialCharacters_EscapesLabelValue()
    {
        using var collector = new MetricsCollector();
        collector.ForProxy("a\"b\\c\nd", null, null).RecordRequest(200, GatewayErrorReason.None, Ms(1), null);

        var text = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_requests_total"), Is.EqualTo(new[]
            {
                """hardened_gateway_requests_total{proxy="a\"b\\c\nd",code="200"} 1""",
            }));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_circuit_breaker_state"), Is.EqualTo(new[]
            {
                """hardened_gateway_circuit_breaker_state{proxy="a\"b\\c\nd"} 0""",
            }));
        });
    }

    [Test]
    public void RenderPrometheusText_ActiveRequests_FollowsStartedAndStopped()
    {
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", null, null);

        ai.RequestStarted();
        ai.RequestStarted();
        ai.RequestStarted();
        var three = PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_active_requests");
        ai.RequestStopped();
        ai.RequestStopped();
        var one = PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_active_requests");

        Assert.Multiple(() =>
        {
            Assert.That(three, Is.EqualTo(new[] { """hardened_gateway_active_requests{proxy="ai"} 3""" }));
            Assert.That(one, Is.EqualTo(new[] { """hardened_gateway_active_requests{proxy="ai"} 1""" }));
            Assert.That(ai.ActiveRequests, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task RenderPrometheusText_RealLimiter_RendersLimitAvailableAndQueueLength()
    {
        using var collector = new MetricsCollector();
        var limiter = new ConcurrencyLimiter(2);
        collector.ForProxy("ai", limiter, null);
        collector.ForProxy("plain", null, null);
        collector.ForProxy("unlimited", new ConcurrencyLimiter(0), null);
        Assert.That(limiter.TryAcquire(), Is.True);
        Assert.That(limiter.TryAcquire(), Is.True);
        var waiting = limiter.AcquireAsync(Timeout.InfiniteTimeSpan);

        var text = collector.RenderPrometheusText();

        limiter.Release(); // hands the slot to the waiter
        Assert.That(await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        limiter.Release();
        limiter.Release();
        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_concurrency_limit"), Is.EqualTo(new[] { """hardened_gateway_concurrency_limit{proxy="ai"} 2""" }));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_concurrency_available"), Is.EqualTo(new[] { """hardened_gateway_concurrency_available{proxy="ai"} 0""" }));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_queue_length"), Is.EqualTo(new[] { """hardened_gateway_queue_length{proxy="ai"} 1""" }));
            Assert.That(PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_concurrency_available"), Is.EqualTo(new[] { """hardened_gateway_concurrency_available{proxy="ai"} 2""" }));
        });
    }

    [Test]
    public void RenderPrometheusText_NoEnabledLimiter_OmitsLimiterFamilies()
    {
        using var collector = new MetricsCollector();
        collector.ForProxy("plain", null, null);
        collector.ForProxy("unlimited", new ConcurrencyLimiter(0), null);

        var families = PrometheusText.Families(collector.RenderPrometheusText());

        Assert.That(families, Has.None.Matches<string>(f => f.Contains("concurrency", StringComparison.Ordinal) || f.Contains("queue", StringComparison.Ordinal)));
    }

    [Test]
    public void RenderPrometheusText_RealBreaker_FollowsClosedOpenHalfOpenClosed()
    {
        var time = new FakeTimeProvider();
        var breaker = new CircuitBreaker(new CircuitBreakerOptions { FailureThreshold = 1, RecoveryTimeout = TimeSpan.FromSeconds(30) }, time);
        using var collector = new MetricsCollector();
        collector.ForProxy("ai", null, breaker);
        collector.ForProxy("nobreaker", null, null);
        string[] State() => PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_circuit_breaker_state");

        var closed = State();
        Assert.That(breaker.TryAdmit(out var permit), Is.True);
        breaker.OnFailure(permit);
        var open = State();
        time.Advance(TimeSpan.FromSeconds(30));
        var halfOpen = State();
        Assert.That(breaker.TryAdmit(out var probe), Is.True);
        breaker.OnSuccess(probe);
        var closedAgain = State();

        Assert.Multiple(() =>
        {
            Assert.That(closed, Is.EqualTo(new[] { """hardened_gateway_circuit_breaker_state{proxy="ai"} 0""", """hardened_gateway_circuit_breaker_state{proxy="nobreaker"} 0""" }));
            Assert.That(open, Is.EqualTo(new[] { """hardened_gateway_circuit_breaker_state{proxy="ai"} 1""", """hardened_gateway_circuit_breaker_state{proxy="nobreaker"} 0""" }));
            Assert.That(halfOpen, Is.EqualTo(new[] { """hardened_gateway_circuit_breaker_state{proxy="ai"} 2""", """hardened_gateway_circuit_breaker_state{proxy="nobreaker"} 0""" }));
            Assert.That(closedAgain, Is.EqualTo(closed));
        });
    }

    [Test]
    public void RenderPrometheusText_RealBytesPool_RendersRentAndFallbackCounts()
    {
        var pool = new BytesPool(maxBuffers: 2);
        using var collector = new MetricsCollector(bytesPool: pool);
        var buffers = new[] { pool.Rent(), pool.Rent(), pool.Rent(), pool.Rent(), pool.Rent() };
        foreach (var buffer in buffers)
        {
            pool.Return(buffer);
        }

        pool.Return(pool.Rent());

        var text = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_buffer_pool_rented_total"), Is.EqualTo(new[] { "hardened_gateway_buffer_pool_rented_total 6" }));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_buffer_pool_fallback_total"), Is.EqualTo(new[] { "hardened_gateway_buffer_pool_fallback_total 3" }));
        });
    }

    [Test]
    public void RemoveProxy_KnownProxy_RemovesItsSeriesAndStartsOverOnNextForProxy()
    {
        using var collector = new MetricsCollector();
        var old = collector.ForProxy("old", new ConcurrencyLimiter(3), null);
        collector.ForProxy("kept", null, null).RecordRequest(200, GatewayErrorReason.None, Ms(1), null);
        old.RecordRequest(500, GatewayErrorReason.None, Ms(1), null);

        collector.RemoveProxy("old");
        collector.RemoveProxy("never-existed");
        old.RecordRequest(500, GatewayErrorReason.None, Ms(1), null); // a request still in flight: harmless
        var text = collector.RenderPrometheusText();
        var renewed = collector.ForProxy("old", null, null);

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("proxy=\"old\""));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_requests_total"), Is.EqualTo(new[] { """hardened_gateway_requests_total{proxy="kept",code="200"} 1""" }));
            Assert.That(PrometheusText.Families(text), Does.Not.Contain("hardened_gateway_concurrency_limit"));
            Assert.That(renewed, Is.Not.SameAs(old));
            Assert.That(PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_requests_total"), Is.EqualTo(new[] { """hardened_gateway_requests_total{proxy="kept",code="200"} 1""" }));
        });
    }

    [Test]
    public void ForProxy_SecondCallForSameName_ReturnsSameInstanceAndRepointsGauges()
    {
        var time = new FakeTimeProvider();
        var openBreaker = new CircuitBreaker(new CircuitBreakerOptions { FailureThreshold = 1 }, time);
        Assert.That(openBreaker.TryAdmit(out var permit), Is.True);
        openBreaker.OnFailure(permit);
        using var collector = new MetricsCollector();
        var first = collector.ForProxy("ai", new ConcurrencyLimiter(5), breaker: null);
        first.RecordRequest(200, GatewayErrorReason.None, Ms(1), null);
        var before = collector.RenderPrometheusText();

        var second = collector.ForProxy("ai", new ConcurrencyLimiter(7), openBreaker);
        var reloaded = collector.RenderPrometheusText();
        var third = collector.ForProxy("ai", limiter: null, breaker: null);
        var withoutLimiter = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.SameAs(first));
            Assert.That(third, Is.SameAs(first));
            Assert.That(PrometheusText.Samples(before, "hardened_gateway_concurrency_limit"), Is.EqualTo(new[] { """hardened_gateway_concurrency_limit{proxy="ai"} 5""" }));
            Assert.That(PrometheusText.Samples(before, "hardened_gateway_circuit_breaker_state"), Is.EqualTo(new[] { """hardened_gateway_circuit_breaker_state{proxy="ai"} 0""" }));
            Assert.That(PrometheusText.Samples(reloaded, "hardened_gateway_concurrency_limit"), Is.EqualTo(new[] { """hardened_gateway_concurrency_limit{proxy="ai"} 7""" }));
            Assert.That(PrometheusText.Samples(reloaded, "hardened_gateway_circuit_breaker_state"), Is.EqualTo(new[] { """hardened_gateway_circuit_breaker_state{proxy="ai"} 1""" }));
            Assert.That(PrometheusText.Samples(reloaded, "hardened_gateway_requests_total"), Is.EqualTo(new[] { """hardened_gateway_requests_total{proxy="ai",code="200"} 1""" }));
            Assert.That(PrometheusText.Families(withoutLimiter), Does.Not.Contain("hardened_gateway_concurrency_limit"));
            Assert.That(PrometheusText.Samples(withoutLimiter, "hardened_gateway_circuit_breaker_state"), Is.EqualTo(new[] { """hardened_gateway_circuit_breaker_state{proxy="ai"} 0""" }));
        });
    }

    [Test]
    public void WritePrometheusTextUtf8_BufferWriter_WritesSameTextAsUtf8()
    {
        using var collector = new MetricsCollector();
        for (var i = 0; i < 50; i++)
        {
            // Enough proxies that the text is handed over in several chunks; one name is not ASCII.
            var proxy = collector.ForProxy(i == 7 ? "ünïcode-🚀" : $"proxy-{i:D2}", new ConcurrencyLimiter(i), null);
            proxy.RecordRequest(200 + i, GatewayErrorReason.None, Ms(i * 37), Ms(i));
        }

        var destination = new ArrayBufferWriter<byte>();
        collector.WritePrometheusTextUtf8(destination);

        Assert.That(Encoding.UTF8.GetString(destination.WrittenSpan), Is.EqualTo(collector.RenderPrometheusText()));
    }

    [Test]
    public void RenderPrometheusText_SubMillisecondDurations_FormatsSumRoundTrippable()
    {
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", null, null);
        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromTicks(1), TimeSpan.FromTicks(-5));
        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromTicks(2), null);

        var text = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_request_duration_seconds")[^2], Is.EqualTo("""hardened_gateway_request_duration_seconds_sum{proxy="ai"} 3E-07"""));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_upstream_duration_seconds")[^2], Is.EqualTo("""hardened_gateway_upstream_duration_seconds_sum{proxy="ai"} 0"""));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_upstream_duration_seconds")[^1], Is.EqualTo("""hardened_gateway_upstream_duration_seconds_count{proxy="ai"} 1"""));
        });
    }

    private static TimeSpan Ms(int milliseconds) => TimeSpan.FromMilliseconds(milliseconds);
}
