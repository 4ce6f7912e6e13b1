using System.Diagnostics;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Limiting;

/// <summary>
/// AC-001, AC-002 under real load: a gateway with an adaptive limit in front of a simulated inference
/// engine (real Kestrel, 127.0.0.1). Every run is bounded in time; the engine's base delay is 50 ms so
/// the runs last seconds, not minutes. Latency percentiles are those the engine imposed (its base
/// delay scaled by its own in-flight count), so they measure the limit, not the test machine's load.
/// </summary>
[TestFixture]
[NonParallelizable] // closed-loop load; other fixtures should not share the two cores at the same moment
public sealed class AdaptiveConcurrencyConvergenceTests
{
    private const int Capacity = 8;
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(50);

    [Test]
    public async Task Overload8x_CapacityEight_SettlesWithinHalfToTwiceWithGoodputAndLatency()
    {
        await using var rig = await EngineBehindGateway.StartAsync(initial: 1, logging: true);
        var (engine, gateway, limiter) = rig;

        await using (var load = rig.SampledLoad())
        {
            load.AddClients(8 * Capacity, "/api/ai/infer");
            await load.RunUntilAsync(22);
            var end = load.Elapsed;

            // Settled: in [C/2, 2C] for the last 8 s at least (the promise is within 30 s).
            var settledAt = load.LastOutside(Capacity / 2, 2 * Capacity, 0, end);
            Assert.That(settledAt, Is.LessThanOrEqualTo(end - 8), $"the limit left [{Capacity / 2}, {2 * Capacity}] at {settledAt:0.0} s; samples after 10 s: {string.Join(",", load.LimitsBetween(10, end))}");
            var from = settledAt + 0.5;

            var goodput = load.OkBetween(from, end) / (end - from);
            var p99 = SimulatedInferenceEngine.Percentile(engine.DelaysSince(load.TimestampAt(from)), 99);
            TestContext.Out.WriteLine($"settled at {settledAt:0.0} s; goodput {goodput:0} /s of best {engine.BestThroughput:0} /s; engine p99 {p99:0.0} ms; limits {string.Join(",", load.LimitsBetween(from, end))}");
            Assert.Multiple(() =>
            {
                Assert.That(goodput, Is.GreaterThanOrEqualTo(0.85 * engine.BestThroughput), "goodput at least 85 % of the engine's best");
                Assert.That(p99, Is.LessThanOrEqualTo(2 * BaseDelay.TotalMilliseconds), "p99 response-header latency of admitted requests at most 2x the base delay");
                Assert.That(load.Errors, Is.Zero);
            });
        }

        // The limit moved from 1: each move of 10 % or more is one Information event with its numbers and why.
        var changes = gateway.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == 52).ToList();
        Assert.That(changes, Is.Not.Empty);
        var first = changes[0];
        Assert.Multiple(() =>
        {
            Assert.That(first.Level, Is.EqualTo(LogLevel.Information));
            Assert.That(first.GetStructuredStateValue("ProxyName"), Is.EqualTo("ai"));
            Assert.That(first.GetStructuredStateValue("PreviousLimit"), Is.EqualTo("1"));
            Assert.That(first.GetStructuredStateValue("ConcurrencyLimit"), Is.EqualTo("2"));
            Assert.That(double.Parse(first.GetStructuredStateValue("BaselineMs")!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(50));
            Assert.That(first.GetStructuredStateValue("RecentMs"), Is.Not.Null);
            Assert.That(first.GetStructuredStateValue("Reason"), Does.Contain("baseline"));
        });
    }

    [Test]
    public async Task CapacityHalvesThenDoubles_LimitFollowsWithin20AndClimbsBackWithin60Seconds()
    {
        await using var rig = await EngineBehindGateway.StartAsync(initial: 1);
        var (engine, gateway, limiter) = rig;
        await using var load = new ClosedLoopLoad(gateway.BaseAddress);
        load.AddClients(8 * Capacity, "/api/ai/infer");
        var settled = await StaysInRangeAsync(() => limiter.MaxConcurrent, Capacity / 2, 2 * Capacity, within: TimeSpan.FromSeconds(30));
        Assert.That(settled, Is.Not.Null, $"never settled for C={Capacity}; limit {limiter.MaxConcurrent}");

        engine.Capacity = Capacity / 2;
        var followed = await StaysInRangeAsync(() => limiter.MaxConcurrent, Capacity / 4, Capacity, within: TimeSpan.FromSeconds(20));
        Assert.That(followed, Is.Not.Null, $"did not follow C={Capacity / 2} within 20 s; limit {limiter.MaxConcurrent}");

        engine.Capacity = Capacity;
        var climbed = await StaysInRangeAsync(() => limiter.MaxConcurrent, Capacity, 2 * Capacity, within: TimeSpan.FromSeconds(60));
        Assert.That(climbed, Is.Not.Null, $"did not climb back to C={Capacity} within 60 s; limit {limiter.MaxConcurrent}");
        TestContext.Out.WriteLine($"settled in {settled!.Value.TotalSeconds:0.0} s, followed the halving in {followed!.Value.TotalSeconds:0.0} s, climbed back in {climbed!.Value.TotalSeconds:0.0} s");
    }

    [Test]
    public async Task LightLoadTwoClients_LimitNeitherCollapsesNorGrowsWithoutBound()
    {
        await using var rig = await EngineBehindGateway.StartAsync(initial: 4);
        var limiter = rig.Limiter;
        await using var load = rig.SampledLoad();

        load.AddClients(2, "/api/ai/infer");
        await load.RunUntilAsync(6);

        var limits = load.LimitsBetween(0, load.Elapsed);
        Assert.Multiple(() =>
        {
            Assert.That(limits, Is.All.InRange(2, 8), "two clients: no collapse below their need, no growth without bound (the upstream was never the bottleneck)");
            Assert.That(load.Ok, Is.GreaterThan(50));
            Assert.That(load.Rejected, Is.Zero);
        });
    }

    [Test]
    public async Task LongSseStreamsWithFastFirstByte_DoNotShrinkTheLimit()
    {
        await using var rig = await EngineBehindGateway.StartAsync(initial: 8);
        var limiter = rig.Limiter;
        await using var load = rig.SampledLoad();

        // Short answers first, so the baseline is the 50 ms time to first byte.
        load.AddClients(4, "/api/ai/infer");
        await load.RunUntilAsync(2.5);
        var before = limiter.MaxConcurrent;
        var streamsFrom = load.Elapsed;

        // Then 1.5 s token streams (30x the baseline) whose first byte comes after the same 50 ms.
        load.AddClients(6, "/api/ai/stream?ms=1500");
        await load.RunUntilAsync(streamsFrom + 6);

        var during = load.LimitsBetween(streamsFrom, load.Elapsed);
        var snapshot = limiter.GetAdaptiveSnapshot()!;
        Assert.Multiple(() =>
        {
            Assert.That(during, Is.All.GreaterThanOrEqualTo(before), "stream length is never a latency sample (AC-002)");
            Assert.That(snapshot.BaselineSeconds, Is.LessThan(0.2), "the baseline is the time to first byte, not the stream");
            Assert.That(snapshot.RecentSeconds, Is.LessThan(0.2));
            Assert.That(load.Errors, Is.Zero);
        });
    }

    [TestCase(SimulatedFailure.Status500)]
    [TestCase(SimulatedFailure.Reset)]
    public async Task UpstreamStartsFailing_LimitShrinksBeforeTheBreakerOpens(SimulatedFailure failure)
    {
        await using var engine = await SimulatedInferenceEngine.StartAsync(Capacity, TimeSpan.FromMilliseconds(20));
        var settings = Settings(engine, initial: 16).WithBreaker(failureThreshold: 5, recoveryTimeout: TimeSpan.FromMinutes(1));
        await using var gateway = await TestGateway.StartAsync(settings);
        var upstream = Upstream(gateway);
        var limiter = upstream.Limiter!;
        var limitWhenOpened = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.CircuitBreaker!.StateChanged += (_, change) =>
        {
            if (change.NewState == CircuitState.Open)
            {
                limitWhenOpened.TrySetResult(limiter.MaxConcurrent);
            }
        };
        await using var load = new ClosedLoopLoad(gateway.BaseAddress);
        load.AddClients(4, "/api/ai/infer", backoff: TimeSpan.FromMilliseconds(20));
        await load.RunUntilAsync(1);
        var before = limiter.MaxConcurrent;

        engine.Failure = failure;
        var atOpen = await limitWhenOpened.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(atOpen, Is.LessThan(before), $"the limit ({before} before) shrank multiplicatively before the breaker opened");
    }

    internal static GatewaySettings Settings(SimulatedInferenceEngine engine, int initial, int min = 1, int max = 64, string queueTimeout = "00:00:30") =>
        GatewaySettings.Proxy(engine.BaseAddress)
            .With("AdaptiveConcurrency:Enabled", "true")
            .With("AdaptiveConcurrency:MinLimit", min.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("AdaptiveConcurrency:MaxLimit", max.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("AdaptiveConcurrency:InitialLimit", initial.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("QueueTimeout", queueTimeout);

    internal static HardenedUpstream Upstream(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var upstream), Is.True);
        return upstream!;
    }

    /// <summary>The engine (capacity <see cref="Capacity"/>, <see cref="BaseDelay"/>) behind a gateway whose adaptive limit starts at a given value.</summary>
    private sealed class EngineBehindGateway : IAsyncDisposable
    {
        private EngineBehindGateway(SimulatedInferenceEngine engine, TestGateway gateway)
        {
            Engine = engine;
            Gateway = gateway;
            Limiter = Upstream(gateway).Limiter!;
        }

        public SimulatedInferenceEngine Engine { get; }

        public TestGateway Gateway { get; }

        public ConcurrencyLimiter Limiter { get; }

        public static async Task<EngineBehindGateway> StartAsync(int initial, bool logging = false)
        {
            var engine = await SimulatedInferenceEngine.StartAsync(Capacity, BaseDelay);
            try
            {
                var gateway = await TestGateway.StartAsync(
                    Settings(engine, initial),
                    logging: logging ? b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Information).AddFilter("HardenedGateway.Hosting", LogLevel.Warning) : null);
                return new EngineBehindGateway(engine, gateway);
            }
            catch
            {
                await engine.DisposeAsync();
                throw;
            }
        }

        /// <summary>A closed-loop load against the gateway that samples the limit every 100 ms from now on.</summary>
        public ClosedLoopLoad SampledLoad()
        {
            var load = new ClosedLoopLoad(Gateway.BaseAddress);
            load.SampleLimit(() => Limiter.MaxConcurrent);
            return load;
        }

        public void Deconstruct(out SimulatedInferenceEngine engine, out TestGateway gateway, out ConcurrencyLimiter limiter) =>
            (engine, gateway, limiter) = (Engine, Gateway, Limiter);

        public async ValueTask DisposeAsync()
        {
            await Gateway.DisposeAsync();
            await Engine.DisposeAsync();
        }
    }

    /// <summary>Waits until <paramref name="limit"/> has stayed in [low, high] for 2 s; returns how long that took, or null after <paramref name="within"/>.</summary>
    private static async Task<TimeSpan?> StaysInRangeAsync(Func<int> limit, int low, int high, TimeSpan within)
    {
        var started = Stopwatch.GetTimestamp();
        long? inRangeSince = null;
        while (Stopwatch.GetElapsedTime(started) < within)
        {
            var value = limit();
            if (value >= low && value <= high)
            {
                inRangeSince ??= Stopwatch.GetTimestamp();
                if (Stopwatch.GetElapsedTime(inRangeSince.Value) >= TimeSpan.FromSeconds(2))
                {
                    return Stopwatch.GetElapsedTime(started, inRangeSince.Value);
                }
            }
            else
            {
                inRangeSince = null;
            }

            await Task.Delay(100);
        }

        return null;
    }
}
