using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Prometheus.Tests.Status;

/// <summary>
/// The status page's snapshot (UI-001): rates and percentiles over the last 10 s from deltas of the cumulative
/// counters and buckets, one snapshot per interval shared by every viewer, nothing computed while nobody watches.
/// Time is a <see cref="FakeTimeProvider"/>; requests are recorded straight into the proxies' series.
/// </summary>
[TestFixture]
public sealed class StatusSnapshotProducerTests
{
    private FakeTimeProvider _time = null!;
    private ServiceProvider _services = null!;
    private StatusSnapshotProducer _producer = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:1/",
            ["HardenedGateway:Proxies:ai:MaxConcurrent"] = "5",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:Enabled"] = "true",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureThreshold"] = "1",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:RecoveryTimeout"] = "00:00:30",
            ["HardenedGateway:Proxies:plain:PathPrefix"] = "/api/plain",
            ["HardenedGateway:Proxies:plain:Upstream"] = "http://127.0.0.1:1/",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddHardenedProxy(configuration.GetSection("HardenedGateway"));
        _services = services.BuildServiceProvider();
        _producer = new StatusSnapshotProducer(Registry, _time, TimeSpan.FromSeconds(1));
    }

    [TearDown]
    public async Task TearDownAsync()
    {
        _producer.Dispose();
        await _services.DisposeAsync();
    }

    private HardenedProxyRegistry Registry => _services.GetRequiredService<HardenedProxyRegistry>();

    private ProxyMetrics Ai => Upstream("ai").Metrics;

    [Test]
    public void Tick_SteadyTrafficForTwelveSeconds_RatesOverTheLastTenSeconds()
    {
        _producer.Tick();
        for (var second = 0; second < 12; second++)
        {
            Record(Ai, 200, 20);
            Record(Ai, 429, 5);
            Record(Ai, 503, 3);
            Record(Ai, 500, 2);
            _time.Advance(TimeSpan.FromSeconds(1));
            _producer.Tick();
        }

        var ai = Proxy(_producer.Tick(), "ai");

        Assert.Multiple(() =>
        {
            Assert.That(ai.GetProperty("requestsPerSecond").GetDouble(), Is.EqualTo(30), "per second of the samples' own timestamps, over the last 10 samples");
            Assert.That(ai.GetProperty("status429PerSecond").GetDouble(), Is.EqualTo(5));
            Assert.That(ai.GetProperty("status503PerSecond").GetDouble(), Is.EqualTo(3));
            Assert.That(ai.GetProperty("status5xxPerSecond").GetDouble(), Is.EqualTo(5), "500 and 503");
            Assert.That(ai.GetProperty("inFlight").GetInt32(), Is.Zero);
            Assert.That(ai.GetProperty("circuitState").GetString(), Is.EqualTo("closed"));
            Assert.That(ai.GetProperty("concurrencyLimit").GetInt32(), Is.EqualTo(5), "the admin object's fields are there too");
        });
    }

    [Test]
    public void Tick_EverySecond_LoadHistoryHoldsRequestsPerSecondOfEachInterval()
    {
        _producer.Tick();
        for (var second = 1; second <= 35; second++)
        {
            Record(Ai, 200, second);
            _time.Advance(TimeSpan.FromSeconds(1));
            _producer.Tick();
        }

        var history = Proxy(_producer.Tick(), "ai").GetProperty("loadHistory").EnumerateArray().Select(value => value.GetDouble()).ToArray();

        // The last 30 intervals, oldest first: the one just ticked (zero-length, nothing recorded) is the newest.
        var expected = Enumerable.Range(7, 29).Select(value => (double)value).Append(0).ToArray();
        Assert.That(history, Is.EqualTo(expected));
    }

    [Test]
    public void Tick_BurstThenQuietForTenSeconds_WindowForgetsTheBurst()
    {
        _producer.Tick();
        Record(Ai, 200, 100);
        for (var second = 0; second < 11; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            _producer.Tick();
        }

        var ai = Proxy(_producer.Tick(), "ai");

        Assert.Multiple(() =>
        {
            Assert.That(ai.GetProperty("requestsPerSecond").GetDouble(), Is.Zero);
            Assert.That(ai.GetProperty("p50Seconds").ValueKind, Is.EqualTo(JsonValueKind.Null), "no request finished in the window");
            Assert.That(ai.GetProperty("p99Seconds").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(ai.GetProperty("loadHistory").EnumerateArray().Max(value => value.GetDouble()), Is.EqualTo(100), "the sparkline still shows it");
        });
    }

    [Test]
    public void Tick_FirstSnapshot_RatesAndPercentilesNullUntilTwoSamples()
    {
        Record(Ai, 200, 10);

        var ai = Proxy(_producer.Tick(), "ai");

        Assert.Multiple(() =>
        {
            Assert.That(ai.GetProperty("requestsPerSecond").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(ai.GetProperty("p99Seconds").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(ai.GetProperty("loadHistory").GetArrayLength(), Is.Zero);
        });
    }

    [Test]
    public void Tick_KnownDurations_P50AndP99EstimatedFromTheBuckets()
    {
        _producer.Tick();
        Record(Ai, 200, 98, TimeSpan.FromMilliseconds(30));
        Record(Ai, 200, 2, TimeSpan.FromSeconds(3));
        _time.Advance(TimeSpan.FromSeconds(1));

        var ai = Proxy(_producer.Tick(), "ai");

        Assert.Multiple(() =>
        {
            // p50: rank 50 of 98 in the bucket (0.01, 0.05]: 0.01 + 0.04 * 50/98.
            Assert.That(ai.GetProperty("p50Seconds").GetDouble(), Is.EqualTo(0.0304));
            // p99: rank 99 is the first of the two in (2.5, 5]: 2.5 + 2.5 * 1/2.
            Assert.That(ai.GetProperty("p99Seconds").GetDouble(), Is.EqualTo(3.75));
        });
    }

    [Test]
    public void EstimateQuantile_RankInTheInfBucket_ReturnsTheHighestFiniteBound()
    {
        Span<long> counts = stackalloc long[MetricsCollector.DurationBucketBoundaries.Count + 1];
        counts[^1] = 3;

        Assert.That(ProxyLoadWindow.EstimateQuantile(counts, 0.5), Is.EqualTo(10));
    }

    [Test]
    public void Tick_BreakerOpenThenHalfOpen_EveryProxyNamedWithItsStateString()
    {
        var breaker = Upstream("ai").CircuitBreaker!;
        Assert.That(breaker.TryAdmit(out var permit), Is.True);
        breaker.OnFailure(permit);
        _time.Advance(TimeSpan.FromSeconds(12.5));

        var open = Proxies(_producer.Tick());
        _time.Advance(TimeSpan.FromSeconds(17.5));
        var halfOpen = Proxies(_producer.Tick());

        Assert.Multiple(() =>
        {
            Assert.That(open.EnumerateObject().Select(proxy => proxy.Name), Is.EquivalentTo(new[] { "ai", "plain" }));
            Assert.That(open.GetProperty("ai").GetProperty("circuitState").GetString(), Is.EqualTo("open"));
            Assert.That(open.GetProperty("ai").GetProperty("retryAfterSeconds").GetInt32(), Is.EqualTo(18), "17.5 s to half-open, rounded up");
            Assert.That(open.GetProperty("plain").GetProperty("circuitState").GetString(), Is.EqualTo("closed"), "no breaker reads closed");
            Assert.That(halfOpen.GetProperty("ai").GetProperty("circuitState").GetString(), Is.EqualTo("half-open"));
        });
    }

    [Test]
    public async Task Subscribe_FiftyViewers_OneSnapshotPerIntervalSharedByAll()
    {
        var subscriptions = Enumerable.Range(0, 50).Select(_ => _producer.Subscribe()).ToList();
        var first = await _producer.NextAsync(0).WaitAsync(TimeSpan.FromSeconds(5));
        var waiting = Enumerable.Range(0, 50).Select(_ => _producer.NextAsync(first.Sequence)).ToArray();
        Assert.That(waiting.Any(task => task.IsCompleted), Is.False, "nothing new before the interval has passed");

        _time.Advance(TimeSpan.FromSeconds(1));
        var received = await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(first.Sequence, Is.EqualTo(1), "the first viewer gets a snapshot at once");
            Assert.That(received.Select(snapshot => snapshot.Sequence).Distinct(), Is.EqualTo(new[] { 2L }), "one snapshot for the interval");
            Assert.That(received.All(snapshot => ReferenceEquals(snapshot, received[0])), Is.True, "the same bytes for every viewer");
            Assert.That(Encoding.UTF8.GetString(received[0].Event.Span), Does.StartWith("data: {").And.EndWith("}\n\n"));
        });
        subscriptions.ForEach(subscription => subscription.Dispose());
    }

    [Test]
    public async Task Unsubscribe_LastViewerLeaves_StopsProducing()
    {
        var first = _producer.Subscribe();
        var second = _producer.Subscribe();
        _time.Advance(TimeSpan.FromSeconds(1));
        var latest = await _producer.NextAsync(1).WaitAsync(TimeSpan.FromSeconds(5));

        first.Dispose();
        Assert.That(_producer.IsRunning, Is.True, "one viewer is left");
        second.Dispose();
        var next = _producer.NextAsync(latest.Sequence);
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(_producer.IsRunning, Is.False);
            Assert.That(_producer.ViewerCount, Is.Zero);
            Assert.That(next.IsCompleted, Is.False, "no snapshot is computed while nobody watches");
        });
    }

    private static void Record(ProxyMetrics metrics, int statusCode, int count, TimeSpan? duration = null)
    {
        for (var index = 0; index < count; index++)
        {
            metrics.RecordRequest(statusCode, GatewayErrorReason.None, duration ?? TimeSpan.FromMilliseconds(40), null);
        }
    }

    private static JsonElement Proxies(StatusSnapshot snapshot)
    {
        var text = Encoding.UTF8.GetString(snapshot.Event.Span);
        Assert.That(text, Does.StartWith("data: ").And.EndWith("\n\n"));
        using var json = JsonDocument.Parse(text["data: ".Length..]);
        return json.RootElement.GetProperty("proxies").Clone();
    }

    private static JsonElement Proxy(StatusSnapshot snapshot, string name) => Proxies(snapshot).GetProperty(name);

    private HardenedUpstream Upstream(string name) => Registry.Upstreams.Single(upstream => upstream.Name == name);
}
