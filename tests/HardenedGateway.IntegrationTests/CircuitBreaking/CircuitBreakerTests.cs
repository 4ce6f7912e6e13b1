using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.IntegrationTests.CircuitBreaking;

/// <summary>T059: the per-proxy breaker (FR-012..FR-015, SC-004), driven by a fake clock.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class CircuitBreakerTests
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Get_ThreeFailures_FourthGets503WithoutTouchingUpstream()
    {
        await using var upstream = await SwitchableUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var gateway = await StartGatewayAsync(upstream, clock);

        for (var i = 0; i < 3; i++)
        {
            using var failure = await GetAsync(gateway);
            Assert.That(failure.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError), "the upstream's own 500 passes through");
        }

        clock.Advance(TimeSpan.FromSeconds(10.5));
        using var rejected = await GetAsync(gateway);

        var problem = await Problem.ReadAsync(rejected, HttpStatusCode.ServiceUnavailable);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("circuit_open"));
            Assert.That(rejected.Headers.GetValues("X-Circuit-Breaker"), Is.EqualTo(new[] { "open" }));
            Assert.That(rejected.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(20)), "seconds until half-open, rounded up");
            Assert.That(upstream.Hits, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Get_AfterRecoveryTimeoutGoodProbe_ClosesCircuit()
    {
        await using var upstream = await SwitchableUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var gateway = await StartGatewayAsync(upstream, clock);
        await OpenCircuitAsync(gateway);
        var breaker = Breaker(gateway);
        Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));

        clock.Advance(Recovery);
        upstream.Status = StatusCodes.Status200OK;
        using var probe = await GetAsync(gateway);

        Assert.Multiple(() =>
        {
            Assert.That(probe.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
        });
        for (var i = 0; i < 3; i++)
        {
            using var next = await GetAsync(gateway);
            Assert.That(next.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(upstream.Hits, Is.EqualTo(3 + 1 + 3));
    }

    [Test]
    public async Task Get_HalfOpenProbeFails_ReopensCircuit()
    {
        await using var upstream = await SwitchableUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var gateway = await StartGatewayAsync(upstream, clock);
        await OpenCircuitAsync(gateway);

        clock.Advance(Recovery);
        using var probe = await GetAsync(gateway);
        using var afterProbe = await GetAsync(gateway);

        Assert.Multiple(() =>
        {
            Assert.That(probe.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
            Assert.That(afterProbe.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(afterProbe.Headers.GetValues("X-Circuit-Breaker"), Is.EqualTo(new[] { "open" }));
            Assert.That(afterProbe.Headers.RetryAfter?.Delta, Is.EqualTo(Recovery), "a fresh recovery period started");
            Assert.That(Breaker(gateway).State, Is.EqualTo(CircuitState.Open));
            Assert.That(upstream.Hits, Is.EqualTo(4));
        });
    }

    [Test]
    public async Task Get_HalfOpenWithProbeInFlight_Gets503HalfOpen()
    {
        await using var upstream = await SwitchableUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var gateway = await StartGatewayAsync(upstream, clock);
        await OpenCircuitAsync(gateway);

        clock.Advance(Recovery);
        upstream.Status = StatusCodes.Status200OK;
        upstream.Hold = new Gate();
        var probe = GetAsync(gateway);
        Assert.That(await Eventually.HoldsAsync(() => upstream.Hits == 4), Is.True);
        using var second = await GetAsync(gateway);

        var problem = await Problem.ReadAsync(second, HttpStatusCode.ServiceUnavailable);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("circuit_open"));
            Assert.That(second.Headers.GetValues("X-Circuit-Breaker"), Is.EqualTo(new[] { "half-open" }));
            Assert.That(second.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)), "at least 1");
        });

        upstream.Hold.Open();
        using var probeResponse = await probe.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(probeResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(Breaker(gateway).State, Is.EqualTo(CircuitState.Closed));
            Assert.That(upstream.Hits, Is.EqualTo(4));
        });
    }

    [Test]
    public async Task Get_ClientErrorsBetweenFailures_CountAsSuccessAndResetTheCount()
    {
        await using var upstream = await SwitchableUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var gateway = await StartGatewayAsync(upstream, clock);

        foreach (var status in new[] { 500, 503, 404, 502, 504, 400 })
        {
            upstream.Status = status;
            using var response = await GetAsync(gateway);
            Assert.That((int)response.StatusCode, Is.EqualTo(status));
        }

        Assert.Multiple(() =>
        {
            Assert.That(Breaker(gateway).State, Is.EqualTo(CircuitState.Closed));
            Assert.That(Breaker(gateway).ConsecutiveFailures, Is.Zero);
        });
        upstream.Status = 500;
        for (var i = 0; i < 3; i++)
        {
            using var failure = await GetAsync(gateway);
        }

        Assert.That(Breaker(gateway).State, Is.EqualTo(CircuitState.Open), "500, 502, 503 and 504 are failures");
    }

    internal static Task<TestGateway> StartGatewayAsync(SwitchableUpstream upstream, FakeTimeProvider clock, int failureThreshold = 3) =>
        TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).WithBreaker(failureThreshold, Recovery),
            services: s => s.AddSingleton<TimeProvider>(clock));

    internal static CircuitBreaker Breaker(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
        return ai!.CircuitBreaker!;
    }

    private static Task<HttpResponseMessage> GetAsync(TestGateway gateway) =>
        gateway.Client.GetAsync(new Uri("/api/ai/generate", UriKind.Relative));

    private static async Task OpenCircuitAsync(TestGateway gateway)
    {
        for (var i = 0; i < 3; i++)
        {
            using var failure = await GetAsync(gateway);
            Assert.That(failure.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        }

        using var rejected = await GetAsync(gateway);
        Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
    }
}
