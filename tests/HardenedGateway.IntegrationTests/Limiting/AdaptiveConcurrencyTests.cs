using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static HardenedGateway.IntegrationTests.Limiting.AdaptiveConcurrencyConvergenceTests;

namespace HardenedGateway.IntegrationTests.Limiting;

/// <summary>
/// The adaptive limit works like a static one everywhere else (DESIGN.md, "Adaptive concurrency"): one
/// budget for the proxy route and typed clients, queue mode, 429 with Retry-After, and a reload that does
/// not change its keys keeps its state.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class AdaptiveConcurrencyTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task TypedClientAndProxyRoute_AdaptiveLimit_ShareOneBudgetAndTypedSamplesCount()
    {
        await using var engine = await SimulatedInferenceEngine.StartAsync(capacity: 8, TimeSpan.FromMilliseconds(20));
        var settings = Settings(engine, initial: 2, min: 2, max: 2, queueTimeout: "00:00:00").With("RetryAfterSeconds", "3");
        await using var gateway = await TestGateway.StartAsync(settings, services =>
            services.AddHttpClient<AiClient>(c => c.BaseAddress = engine.BaseAddress).AddHardenedHandler("ai"));
        var client = gateway.GetRequiredService<AiClient>();
        var limiter = Upstream(gateway).Limiter!;

        // Typed-client answers are latency samples of the same controller.
        for (var i = 0; i < 12; i++)
        {
            using var answer = await client.Http.GetAsync(new Uri("infer", UriKind.Relative)).WaitAsync(Bound);
            Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(limiter.Adaptive!.WindowCount, Is.GreaterThan(0), "typed-client answers fed the controller");
        Assert.That(limiter.GetAdaptiveSnapshot()!.BaselineSeconds, Is.GreaterThanOrEqualTo(0.02));

        // Both slots held by typed clients: the proxy route is over the same budget.
        engine.BaseDelay = TimeSpan.FromSeconds(2);
        var held = Enumerable.Range(0, 2).Select(_ => client.Http.GetAsync(new Uri("infer", UriKind.Relative))).ToArray();
        Assert.That(await Eventually.HoldsAsync(() => limiter.InUse == 2 && engine.InFlight == 2, Bound), Is.True);

        using var rejected = await gateway.Client.GetAsync(new Uri("/api/ai/infer", UriKind.Relative)).WaitAsync(Bound);
        var rejectedInClient = Assert.ThrowsAsync<UpstreamConcurrencyLimitException>(() => client.Http.GetAsync(new Uri("infer", UriKind.Relative)));
        var responses = await Task.WhenAll(held).WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(rejected.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(rejectedInClient!.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
            Assert.That(engine.MaxInFlight, Is.LessThanOrEqualTo(2));
        });
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task QueueMode_AdaptiveLimitReached_WaitsFifoForASlotThenForwards()
    {
        await using var engine = await SimulatedInferenceEngine.StartAsync(capacity: 8, TimeSpan.FromMilliseconds(300));
        await using var gateway = await TestGateway.StartAsync(Settings(engine, initial: 1, min: 1, max: 1, queueTimeout: "00:00:10"));
        var limiter = Upstream(gateway).Limiter!;

        var first = gateway.Client.GetAsync(new Uri("/api/ai/infer", UriKind.Relative));
        Assert.That(await Eventually.HoldsAsync(() => limiter.InUse == 1, Bound), Is.True);
        var queued = Enumerable.Range(0, 2).Select(_ => gateway.Client.GetAsync(new Uri("/api/ai/infer", UriKind.Relative))).ToArray();
        Assert.That(await Eventually.HoldsAsync(() => limiter.QueueLength == 2, Bound), Is.True, "they wait for a slot instead of a 429");

        var responses = await Task.WhenAll(queued.Prepend(first)).WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
            Assert.That(engine.MaxInFlight, Is.EqualTo(1), "the limit held while they queued");
            Assert.That(limiter.QueueLength, Is.Zero);
        });
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task QueueMode_WaitTimesOut_Gets429WithRetryAfter()
    {
        await using var engine = await SimulatedInferenceEngine.StartAsync(capacity: 8, TimeSpan.FromSeconds(2));
        var settings = Settings(engine, initial: 1, min: 1, max: 1, queueTimeout: "00:00:00.200").With("RetryAfterSeconds", "4");
        await using var gateway = await TestGateway.StartAsync(settings);
        var limiter = Upstream(gateway).Limiter!;
        var held = gateway.Client.GetAsync(new Uri("/api/ai/infer", UriKind.Relative));
        Assert.That(await Eventually.HoldsAsync(() => limiter.InUse == 1, Bound), Is.True);

        using var rejected = await gateway.Client.GetAsync(new Uri("/api/ai/infer", UriKind.Relative)).WaitAsync(Bound);
        using var served = await held.WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(rejected.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(4)));
            Assert.That(served.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(limiter.Adaptive!.WindowCount, Is.Zero, "a rejected request is no sample");
        });
    }

    [Test]
    public async Task Reload_AdaptiveKeysUnchanged_KeepsLimitAndBaseline_ChangedKeys_StartAgain()
    {
        await using var engine = await SimulatedInferenceEngine.StartAsync(capacity: 8, TimeSpan.FromMilliseconds(20));
        var settings = Settings(engine, initial: 1);
        await using var gateway = await TestGateway.StartAsync(settings);
        var before = Upstream(gateway);
        await using (var load = new ClosedLoopLoad(gateway.BaseAddress))
        {
            load.AddClients(4, "/api/ai/infer");
            Assert.That(await Eventually.HoldsAsync(() => before.Limiter!.MaxConcurrent >= 3, Bound), Is.True, "the limit grew from 1");
        }

        var limit = before.Limiter!.MaxConcurrent;
        var baseline = before.Limiter.GetAdaptiveSnapshot()!.BaselineSeconds;

        // A reload that adds another proxy leaves "ai" and its adaptive state alone.
        gateway.ReplaceConfiguration(settings.Copy().AddProxy("other", "/api/other", engine.BaseAddress));
        Assert.That(await Eventually.HoldsAsync(() => Registry(gateway).TryGetUpstream("other", out _), Bound), Is.True);
        var kept = Upstream(gateway);
        Assert.Multiple(() =>
        {
            Assert.That(kept, Is.SameAs(before));
            Assert.That(kept.Limiter!.MaxConcurrent, Is.EqualTo(limit));
            Assert.That(kept.Limiter.GetAdaptiveSnapshot()!.BaselineSeconds, Is.EqualTo(baseline));
        });

        // Changing one of its keys starts a new controller at InitialLimit.
        gateway.ReplaceConfiguration(settings.Copy().With("AdaptiveConcurrency:Tolerance", "3"));
        Assert.That(await Eventually.HoldsAsync(() => !ReferenceEquals(Upstream(gateway), before), Bound), Is.True);
        var fresh = Upstream(gateway).GetAdaptiveSnapshotOrFail();
        Assert.Multiple(() =>
        {
            Assert.That(fresh.Limit, Is.EqualTo(1));
            Assert.That(fresh.BaselineSeconds, Is.Zero);
        });
    }

    private static HardenedProxyRegistry Registry(TestGateway gateway) => gateway.GetRequiredService<HardenedProxyRegistry>();

    /// <summary>A typed client as an app would write one.</summary>
    public sealed class AiClient(HttpClient http)
    {
        public HttpClient Http { get; } = http;
    }
}

internal static class AdaptiveSnapshotExtensions
{
    public static AdaptiveConcurrencySnapshot GetAdaptiveSnapshotOrFail(this HardenedUpstream upstream) =>
        upstream.Limiter?.GetAdaptiveSnapshot() ?? throw new AssertionException($"proxy {upstream.Name} has no adaptive limit");
}
