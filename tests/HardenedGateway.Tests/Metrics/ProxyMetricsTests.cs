namespace HardenedGateway.Tests.Metrics;

[TestFixture]
public sealed class ProxyMetricsTests
{
    [Test]
    public void RecordRequest_SeenStatusCodeAfterWarmUp_AllocatesNothing()
    {
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", new ConcurrencyLimiter(4), null);
        var duration = TimeSpan.FromMilliseconds(120);
        TimeSpan? upstream = TimeSpan.FromMilliseconds(80);
        for (var i = 0; i < 1_000; i++)
        {
            Record(ai, duration, upstream);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Record(ai, duration, upstream);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero);

        static void Record(ProxyMetrics proxy, TimeSpan duration, TimeSpan? upstream)
        {
            proxy.RequestStarted();
            proxy.RecordRequest(200, GatewayErrorReason.None, duration, upstream);
            proxy.RecordRequest(503, GatewayErrorReason.CircuitOpen, duration, null);
            proxy.RecordRequest(499, GatewayErrorReason.ClientAborted, duration, upstream);
            proxy.RequestStopped();
        }
    }

    [Test]
    public async Task RecordRequest_ManyThreadsWhileRenderingAndReloading_CountsEveryRequestExactly()
    {
        const int Threads = 8;
        const int PerThread = 20_000;
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", null, null);
        using var start = new Barrier(Threads + 1);
        var stop = new CancellationTokenSource();

        var recorders = new Task[Threads];
        for (var t = 0; t < Threads; t++)
        {
            var thread = t;
            recorders[t] = Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait(TimeSpan.FromSeconds(30));
                    for (var i = 0; i < PerThread; i++)
                    {
                        ai.RequestStarted();
                        // Codes of several hundreds so that blocks are created concurrently.
                        var code = (i % 4) switch { 0 => 200, 1 => 404, 2 => 503, _ => 100 + thread };
                        var reason = code == 503 ? GatewayErrorReason.CircuitOpen : GatewayErrorReason.None;
                        ai.RecordRequest(code, reason, TimeSpan.FromMilliseconds(i % 3 == 0 ? 3 : 700), i % 2 == 0 ? TimeSpan.FromMilliseconds(2) : null);
                        ai.RequestStopped();
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        var churn = Task.Run(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                var name = "churn-" + (n++ % 5);
                collector.ForProxy(name, new ConcurrencyLimiter(3), null).RecordRequest(200, GatewayErrorReason.None, TimeSpan.Zero, null);
                _ = collector.RenderPrometheusText();
                collector.RemoveProxy(name);
            }
        });

        await Task.WhenAll(recorders).WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await churn.WaitAsync(TimeSpan.FromSeconds(30));
        for (var n = 0; n < 5; n++)
        {
            collector.RemoveProxy("churn-" + n);
        }

        var text = collector.RenderPrometheusText();

        const int Total = Threads * PerThread;
        var expectedCodes = new List<string> { "hardened_gateway_requests_total{proxy=\"ai\",code=\"100\"} " + (PerThread / 4) };
        for (var t = 1; t < Threads; t++)
        {
            expectedCodes.Add($"hardened_gateway_requests_total{{proxy=\"ai\",code=\"{100 + t}\"}} {PerThread / 4}");
        }

        expectedCodes.Add("hardened_gateway_requests_total{proxy=\"ai\",code=\"200\"} " + (Total / 4));
        expectedCodes.Add("hardened_gateway_requests_total{proxy=\"ai\",code=\"404\"} " + (Total / 4));
        expectedCodes.Add("hardened_gateway_requests_total{proxy=\"ai\",code=\"503\"} " + (Total / 4));

        // Per thread: i % 3 == 0 for 6,667 of 20,000 iterations (3 ms each), 700 ms for the other 13,333.
        const int Fast = Threads * ((PerThread + 2) / 3);
        const int Slow = Total - Fast;
        var requestSum = ((Fast * 3L) + (Slow * 700L)) / 1000.0;
        var requestHistogram = PrometheusText.Samples(text, "hardened_gateway_request_duration_seconds");
        var upstreamHistogram = PrometheusText.Samples(text, "hardened_gateway_upstream_duration_seconds");
        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_requests_total"), Is.EqualTo(expectedCodes));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_errors_total"), Does.Contain("hardened_gateway_errors_total{proxy=\"ai\",reason=\"circuit_open\"} " + (Total / 4)));
            Assert.That(requestHistogram[0], Is.EqualTo("hardened_gateway_request_duration_seconds_bucket{proxy=\"ai\",le=\"0.01\"} " + Fast));
            Assert.That(requestHistogram[4], Is.EqualTo("hardened_gateway_request_duration_seconds_bucket{proxy=\"ai\",le=\"0.5\"} " + Fast));
            Assert.That(requestHistogram[5], Is.EqualTo("hardened_gateway_request_duration_seconds_bucket{proxy=\"ai\",le=\"1\"} " + Total));
            Assert.That(requestHistogram[^2], Is.EqualTo("hardened_gateway_request_duration_seconds_sum{proxy=\"ai\"} " + requestSum.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(requestHistogram[^1], Is.EqualTo("hardened_gateway_request_duration_seconds_count{proxy=\"ai\"} " + Total));
            Assert.That(upstreamHistogram[^1], Is.EqualTo("hardened_gateway_upstream_duration_seconds_count{proxy=\"ai\"} " + (Total / 2)));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_active_requests"), Is.EqualTo(new[] { "hardened_gateway_active_requests{proxy=\"ai\"} 0" }));
            Assert.That(text, Does.Not.Contain("churn-"));
        });
    }

    [TestCase(99)]
    [TestCase(1000)]
    [TestCase(0)]
    [TestCase(-1)]
    public void RecordRequest_StatusCodeOutOfRange_ThrowsAndRecordsNothing(int statusCode)
    {
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", null, null);

        Assert.That(() => ai.RecordRequest(statusCode, GatewayErrorReason.None, TimeSpan.Zero, null), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_request_duration_seconds")[^1], Is.EqualTo("hardened_gateway_request_duration_seconds_count{proxy=\"ai\"} 0"));
    }

    [Test]
    public void RecordRequest_UndefinedReason_Throws()
    {
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", null, null);

        Assert.That(() => ai.RecordRequest(500, (GatewayErrorReason)100, TimeSpan.Zero, null), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ForProxy_NullOrEmptyName_Throws()
    {
        using var collector = new MetricsCollector();

        Assert.Multiple(() =>
        {
            Assert.That(() => collector.ForProxy(null!, null, null), Throws.ArgumentNullException);
            Assert.That(() => collector.ForProxy(string.Empty, null, null), Throws.ArgumentException);
        });
    }

    [Test]
    public void RecordRequest_StandaloneInstance_CountsWithoutCollector()
    {
        var standalone = new ProxyMetrics("ai");

        standalone.RequestStarted();
        standalone.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromMilliseconds(1), null);
        standalone.RecordRequest(502, GatewayErrorReason.UpstreamUnreachable, TimeSpan.FromMilliseconds(1), null);

        Assert.Multiple(() =>
        {
            Assert.That(standalone.ProxyName, Is.EqualTo("ai"));
            Assert.That(standalone.ActiveRequests, Is.EqualTo(1));
            Assert.That(standalone.GetRequestCount(200), Is.EqualTo(1));
            Assert.That(standalone.GetRequestCount(502), Is.EqualTo(1));
            Assert.That(standalone.GetRequestCount(404), Is.Zero);
            Assert.That(standalone.GetErrorCount(GatewayErrorReason.UpstreamUnreachable), Is.EqualTo(1));
        });
    }
}
