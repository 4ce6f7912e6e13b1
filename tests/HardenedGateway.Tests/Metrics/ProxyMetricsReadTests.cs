namespace HardenedGateway.Tests.Metrics;

/// <summary>The read side of <see cref="ProxyMetrics"/> (range counts, bucket counts, tunnel slots) and its argument checks.</summary>
[TestFixture]
public sealed class ProxyMetricsReadTests
{
    [Test]
    public void TryStartTunnel_BelowAndAtCap_TakesSlotsUntilCapThenRefusesUntilOneStops()
    {
        var proxy = new ProxyMetrics("ws");

        Assert.Multiple(() =>
        {
            Assert.That(proxy.TryStartTunnel(2), Is.True);
            Assert.That(proxy.TryStartTunnel(2), Is.True);
            Assert.That(proxy.TryStartTunnel(2), Is.False);
            Assert.That(proxy.ActiveTunnels, Is.EqualTo(2));
        });

        proxy.TunnelStopped();

        Assert.Multiple(() =>
        {
            Assert.That(proxy.ActiveTunnels, Is.EqualTo(1));
            Assert.That(proxy.TryStartTunnel(2), Is.True);
            Assert.That(proxy.ActiveTunnels, Is.EqualTo(2));
            Assert.That(proxy.TryStartTunnel(0), Is.False);
        });
    }

    [Test]
    public async Task TryStartTunnel_ManyThreadsRacing_NeverExceedsCap()
    {
        const int Threads = 4;
        const int Cap = 50;
        var proxy = new ProxyMetrics("ws");
        using var start = new Barrier(Threads);
        var taken = new int[Threads];
        var racers = new Task[Threads];
        for (var t = 0; t < Threads; t++)
        {
            var thread = t;
            racers[t] = Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait(TimeSpan.FromSeconds(30));
                    for (var i = 0; i < 1_000; i++)
                    {
                        if (proxy.TryStartTunnel(Cap))
                        {
                            taken[thread]++;
                        }
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        await Task.WhenAll(racers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(taken.Sum(), Is.EqualTo(Cap));
            Assert.That(proxy.ActiveTunnels, Is.EqualTo(Cap));
        });
    }

    [Test]
    public void GetRequestCountRange_CodesInSeveralHundreds_SumsExactlyTheCodesInRange()
    {
        var proxy = new ProxyMetrics("ai");
        foreach (var code in new[] { 100, 199, 200, 200, 204, 299, 300, 404, 404, 503, 999 })
        {
            proxy.RecordRequest(code, GatewayErrorReason.None, TimeSpan.Zero, null);
        }

        Assert.Multiple(() =>
        {
            Assert.That(proxy.GetRequestCount(200, 299), Is.EqualTo(4), "2xx");
            Assert.That(proxy.GetRequestCount(400, 599), Is.EqualTo(3), "4xx and 5xx");
            Assert.That(proxy.GetRequestCount(int.MinValue, int.MaxValue), Is.EqualTo(11), "everything, bounds clamped");
            Assert.That(proxy.GetRequestCount(0, 150), Is.EqualTo(1), "below the lowest code counts from 100");
            Assert.That(proxy.GetRequestCount(900, 5_000), Is.EqualTo(1), "above the highest code counts up to 999");
            Assert.That(proxy.GetRequestCount(100, 100), Is.EqualTo(1), "the lowest code alone");
            Assert.That(proxy.GetRequestCount(999, 999), Is.EqualTo(1), "the highest code alone");
            Assert.That(proxy.GetRequestCount(199, 200), Is.EqualTo(3), "across a hundred boundary");
            Assert.That(proxy.GetRequestCount(250, 350), Is.EqualTo(2), "299 and 300");
            Assert.That(proxy.GetRequestCount(201, 203), Is.Zero, "no code in range");
            Assert.That(proxy.GetRequestCount(600, 899), Is.Zero, "hundreds never seen");
            Assert.That(proxy.GetRequestCount(300, 299), Is.Zero, "empty range");
        });
    }

    [Test]
    public void GetRequestCountSingle_EdgesAndOutsideRange_CountsOrZero()
    {
        var proxy = new ProxyMetrics("ai");
        proxy.RecordRequest(100, GatewayErrorReason.None, TimeSpan.Zero, null);
        proxy.RecordRequest(999, GatewayErrorReason.None, TimeSpan.Zero, null);

        Assert.Multiple(() =>
        {
            Assert.That(proxy.GetRequestCount(100), Is.EqualTo(1));
            Assert.That(proxy.GetRequestCount(999), Is.EqualTo(1));
            Assert.That(proxy.GetRequestCount(99), Is.Zero);
            Assert.That(proxy.GetRequestCount(1000), Is.Zero);
            Assert.That(proxy.GetRequestCount(1099), Is.Zero);
        });
    }

    [Test]
    public void CopyRequestDurationBucketCounts_DurationsOnAndJustAboveEachBound_CountsPerBucketNotCumulatively()
    {
        var proxy = new ProxyMetrics("ai");
        var bounds = MetricsCollector.DurationBucketBoundaries;
        var expected = new long[bounds.Count + 1];
        for (var i = 0; i < bounds.Count; i++)
        {
            // Exactly on the bound counts in that bucket (le), one tick above counts in the next.
            proxy.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromSeconds(bounds[i]), null);
            proxy.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromSeconds(bounds[i]) + TimeSpan.FromTicks(1), null);
            expected[i]++;
            expected[i + 1]++;
        }

        var counts = new long[bounds.Count + 1];
        proxy.CopyRequestDurationBucketCounts(counts);

        Assert.Multiple(() =>
        {
            Assert.That(bounds, Is.EqualTo(new[] { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }), "DESIGN.md buckets");
            Assert.That(counts, Is.EqualTo(expected));
        });
    }

    [Test]
    public void CopyRequestDurationBucketCounts_LongerDestination_FillsOnlyTheBucketCounts()
    {
        var proxy = new ProxyMetrics("ai");
        proxy.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromSeconds(30), null);
        var counts = new long[12];
        Array.Fill(counts, -1);

        proxy.CopyRequestDurationBucketCounts(counts);

        Assert.That(counts, Is.EqualTo(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, -1 }));
    }

    [Test]
    public void CopyRequestDurationBucketCounts_DestinationTooShort_ThrowsArgumentException()
    {
        var proxy = new ProxyMetrics("ai");

        Assert.That(
            () => proxy.CopyRequestDurationBucketCounts(new long[MetricsCollector.DurationBucketBoundaries.Count]),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("destination"));
    }

    [Test]
    public void RecordRequest_NegativeDurations_CountAsZero()
    {
        using var collector = new MetricsCollector();
        var ai = collector.ForProxy("ai", null, null);

        ai.RecordRequest(200, GatewayErrorReason.None, TimeSpan.FromSeconds(-5), TimeSpan.FromSeconds(-3));

        var text = collector.RenderPrometheusText();
        Assert.Multiple(() =>
        {
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_request_duration_seconds"), Does.Contain("hardened_gateway_request_duration_seconds_bucket{proxy=\"ai\",le=\"0.01\"} 1"));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_request_duration_seconds"), Does.Contain("hardened_gateway_request_duration_seconds_sum{proxy=\"ai\"} 0"));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_upstream_duration_seconds"), Does.Contain("hardened_gateway_upstream_duration_seconds_bucket{proxy=\"ai\",le=\"0.01\"} 1"));
            Assert.That(PrometheusText.Samples(text, "hardened_gateway_upstream_duration_seconds"), Does.Contain("hardened_gateway_upstream_duration_seconds_sum{proxy=\"ai\"} 0"));
        });
    }

    [Test]
    public void RecordRequest_ReasonJustPastLastDefined_ThrowsAndRecordsNothing()
    {
        var proxy = new ProxyMetrics("ai");
        var pastLast = (GatewayErrorReason)Enum.GetValues<GatewayErrorReason>().Length;

        Assert.That(() => proxy.RecordRequest(500, pastLast, TimeSpan.Zero, null), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(proxy.GetRequestCount(500), Is.Zero);
    }

    [Test]
    public void RemoveProxy_NullName_ThrowsArgumentNullException()
    {
        using var collector = new MetricsCollector();

        Assert.That(() => collector.RemoveProxy(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void WritePrometheusText_NullWriter_ThrowsArgumentNullException()
    {
        using var collector = new MetricsCollector();

        Assert.Multiple(() =>
        {
            Assert.That(() => collector.WritePrometheusText(null!), Throws.ArgumentNullException);
            Assert.That(() => collector.WritePrometheusTextUtf8(null!), Throws.ArgumentNullException);
        });
    }

    [Test]
    public void RemoveProxy_MiddleOfThree_KeepsTheOthersInOrdinalOrder()
    {
        using var collector = new MetricsCollector();
        foreach (var name in new[] { "c", "a", "d", "b" })
        {
            collector.ForProxy(name, null, null).RecordRequest(200, GatewayErrorReason.None, TimeSpan.Zero, null);
        }

        collector.RemoveProxy("b");

        Assert.That(
            PrometheusText.Samples(collector.RenderPrometheusText(), "hardened_gateway_requests_total"),
            Is.EqualTo(new[]
            {
                "hardened_gateway_requests_total{proxy=\"a\",code=\"200\"} 1",
                "hardened_gateway_requests_total{proxy=\"c\",code=\"200\"} 1",
                "hardened_gateway_requests_total{proxy=\"d\",code=\"200\"} 1",
            }));
    }
}
