using System.Globalization;
using System.Net;
using HardenedGateway.IntegrationTests.CircuitBreaking;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.IntegrationTests.Reliability;

/// <summary>
/// RS-001 at overload: 1,000 clients at once against five slots, the queue under the same crowd, and
/// a half-open stampede of 500. The upstream never sees more than it was promised.
/// </summary>
[TestFixture]
[NonParallelizable] // thousands of loopback sockets at once; the other fixtures should not share the moment
public sealed class OverloadTests
{
    private const int Clients = 1000;
    private const int MaxConcurrent = 5;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Get_ThousandClientsAgainstFiveSlots_UpstreamNeverSeesASixthAndEveryOtherGets429()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "5").With("RetryAfterSeconds", "7"));
        var ai = Upstream(gateway);
        var pool = gateway.GetRequiredService<BytesPool>();
        using var client = CrowdClient(gateway);

        var requests = new Task<HttpResponseMessage>[Clients];
        for (var i = 0; i < Clients; i++)
        {
            requests[i] = client.GetAsync(new Uri($"/api/ai/crowd/{i}", UriKind.Relative));
        }

        // The five admitted stay held at the upstream until every other answer is in: the rejections are
        // certain, not a race with a quick upstream.
        Assert.That(await Eventually.HoldsAsync(() => ai.Metrics.GetRequestCount(429) == Clients - MaxConcurrent, Bound), Is.True, $"429s so far: {ai.Metrics.GetRequestCount(429)}");
        upstream.Release();
        var responses = await Task.WhenAll(requests).WaitAsync(Bound);
        try
        {
            var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToArray();
            Assert.Multiple(() =>
            {
                Assert.That(upstream.MaxInFlight, Is.EqualTo(MaxConcurrent), "the upstream never sees a sixth");
                Assert.That(upstream.Hits, Is.EqualTo(MaxConcurrent));
                Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(MaxConcurrent));
                Assert.That(rejected, Has.Length.EqualTo(Clients - MaxConcurrent));
                Assert.That(rejected.All(r => r.Headers.RetryAfter?.Delta == TimeSpan.FromSeconds(7)), Is.True, "every 429 carries Retry-After: RetryAfterSeconds");
            });
            foreach (var response in rejected.Take(20))
            {
                Assert.That((await Problem.ReadAsync(response, HttpStatusCode.TooManyRequests)).Reason, Is.EqualTo("concurrency_limit"));
            }
        }
        finally
        {
            Dispose(responses);
        }

        await ExpectIdleAsync(ai, pool);
    }

    [Test]
    public async Task Get_ThousandClientsQueued_NobodyWaitsBeyondQueueTimeoutPlusMargin()
    {
        var queueTimeout = TimeSpan.FromMilliseconds(500);
        // Alone the waits measure 497..549 ms; with the whole suite and other builds on two cores
        // (load average about 30) the scheduler added up to 0.7 s.
        var margin = TimeSpan.FromMilliseconds(1500);
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "5").With("QueueTimeout", "00:00:00.5"),
            logging: b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Information));
        var logs = gateway.Services.GetFakeLogCollector();
        var ai = Upstream(gateway);
        var pool = gateway.GetRequiredService<BytesPool>();
        using var client = CrowdClient(gateway);

        var requests = new Task<HttpResponseMessage>[Clients];
        for (var i = 0; i < Clients; i++)
        {
            requests[i] = client.GetAsync(new Uri($"/api/ai/queued/{i}", UriKind.Relative));
        }

        Assert.That(await Eventually.HoldsAsync(() => ai.Metrics.GetRequestCount(429) == Clients - MaxConcurrent, Bound), Is.True, $"429s so far: {ai.Metrics.GetRequestCount(429)}");
        upstream.Release();
        var responses = await Task.WhenAll(requests).WaitAsync(Bound);
        Dispose(responses);

        // The gateway's own clock, from arrival to the answer (the request event's two latencies).
        var waits = logs.GetSnapshot()
            .Where(r => r.Id.Id == 1 && r.Category == "HardenedGateway.Hosting.ProxyPipeline" && (string?)r.GetStructuredStateValue("Reason") == "concurrency_limit")
            .Select(r => TimeSpan.FromMilliseconds(
                double.Parse(r.GetStructuredStateValue("ProxyLatencyMs")!, CultureInfo.InvariantCulture) +
                double.Parse(r.GetStructuredStateValue("UpstreamLatencyMs")!, CultureInfo.InvariantCulture)))
            .ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(upstream.MaxInFlight, Is.EqualTo(MaxConcurrent));
            Assert.That(waits, Has.Length.EqualTo(Clients - MaxConcurrent));
            Assert.That(waits.Max(), Is.LessThanOrEqualTo(queueTimeout + margin), "nobody waits beyond QueueTimeout plus the margin");
            Assert.That(waits.Min(), Is.GreaterThanOrEqualTo(queueTimeout - TimeSpan.FromMilliseconds(20)), "every rejected request did wait its QueueTimeout");
        });
        TestContext.Out.WriteLine($"queued rejections: {waits.Length}, wait min {waits.Min().TotalMilliseconds:0} ms, max {waits.Max().TotalMilliseconds:0} ms");
        await ExpectIdleAsync(ai, pool);
    }

    [Test]
    public async Task Get_QueuedRequests_AreServedFirstInFirstOut()
    {
        const int Queued = 30;
        var order = new System.Collections.Concurrent.ConcurrentQueue<int>();
        var holdFirst = new Gate();
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            var sequence = int.Parse(context.Request.Query["n"]!, CultureInfo.InvariantCulture);
            if (sequence < 0)
            {
                await holdFirst.WaitAsync(context.RequestAborted);
            }
            else
            {
                order.Enqueue(sequence);
            }

            return "ok";
        }));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "1").With("QueueTimeout", "00:01:00"));
        var ai = Upstream(gateway);
        using var client = CrowdClient(gateway);

        var holder = client.GetAsync(new Uri("/api/ai/x?n=-1", UriKind.Relative));
        Assert.That(await Eventually.HoldsAsync(() => ai.Limiter!.Available == 0), Is.True);
        var queued = new Task<HttpResponseMessage>[Queued];
        for (var i = 0; i < Queued; i++)
        {
            // One at a time into the queue, so the order of arrival is known.
            queued[i] = client.GetAsync(new Uri($"/api/ai/x?n={i}", UriKind.Relative));
            var length = i + 1;
            Assert.That(await Eventually.HoldsAsync(() => ai.Limiter!.QueueLength == length), Is.True, $"request {i} queued");
        }

        holdFirst.Open();
        var responses = await Task.WhenAll(queued.Append(holder)).WaitAsync(Bound);
        Dispose(responses);
        Assert.Multiple(() =>
        {
            Assert.That(responses.All(r => r.StatusCode == HttpStatusCode.OK), Is.True);
            Assert.That(order, Is.EqualTo(Enumerable.Range(0, Queued)), "served in the order they queued");
        });
    }

    [TestCase(1)]
    [TestCase(3)]
    public async Task Get_FiveHundredClientsWhenRecoveryElapses_ExactlyHalfOpenRequestsProbesReachTheUpstream(int halfOpenRequests)
    {
        const int Stampede = 500;
        await using var upstream = await SwitchableUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).WithBreaker(1, TimeSpan.FromSeconds(30), halfOpenRequests),
            services: s => s.AddSingleton<TimeProvider>(clock));
        var ai = Upstream(gateway);
        var breaker = ai.CircuitBreaker!;
        using (var failure = await gateway.Client.GetAsync(new Uri("/api/ai/fail", UriKind.Relative)))
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
        }

        upstream.Status = StatusCodes.Status200OK;
        upstream.Hold = new Gate();
        clock.Advance(TimeSpan.FromSeconds(30));
        using var client = CrowdClient(gateway);
        var requests = new Task<HttpResponseMessage>[Stampede];
        for (var i = 0; i < Stampede; i++)
        {
            requests[i] = client.GetAsync(new Uri($"/api/ai/stampede/{i}", UriKind.Relative));
        }

        // The probes are held at the upstream until every other client has its answer.
        Assert.That(await Eventually.HoldsAsync(() => ai.Metrics.GetRequestCount(503) == Stampede - halfOpenRequests, Bound), Is.True, $"503s so far: {ai.Metrics.GetRequestCount(503)}");
        Assert.That(breaker.ProbesInFlight, Is.EqualTo(halfOpenRequests));
        upstream.Hold.Open();
        var responses = await Task.WhenAll(requests).WaitAsync(Bound);
        try
        {
            var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToArray();
            Assert.Multiple(() =>
            {
                Assert.That(upstream.Hits, Is.EqualTo(1 + halfOpenRequests), "exactly HalfOpenRequests probes reached the upstream");
                Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(halfOpenRequests));
                Assert.That(rejected, Has.Length.EqualTo(Stampede - halfOpenRequests));
                Assert.That(rejected.All(r => r.Headers.TryGetValues("X-Circuit-Breaker", out var state) && state.Single() == "half-open"), Is.True, "every other client gets 503 half-open");
                Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed), "the probes' successes close the circuit");
                Assert.That(breaker.ProbesInFlight, Is.Zero);
            });
            Assert.That((await Problem.ReadAsync(rejected[0], HttpStatusCode.ServiceUnavailable)).Reason, Is.EqualTo("circuit_open"));
        }
        finally
        {
            Dispose(responses);
        }
    }

    private static HttpClient CrowdClient(TestGateway gateway) =>
        new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = Clients })
        {
            BaseAddress = gateway.BaseAddress,
            Timeout = Bound,
        };

    private static async Task ExpectIdleAsync(HardenedUpstream ai, BytesPool pool)
    {
        var limiter = ai.Limiter!;
        Assert.That(
            await Eventually.HoldsAsync(() => ai.Metrics.ActiveRequests == 0 && limiter.Available == MaxConcurrent && limiter.QueueLength == 0 && pool.OutstandingCount == 0, Bound),
            Is.True,
            $"active {ai.Metrics.ActiveRequests}, available {limiter.Available}, queue {limiter.QueueLength}, buffers {pool.OutstandingCount}");
    }

    private static HardenedUpstream Upstream(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
        return ai!;
    }

    private static void Dispose(HttpResponseMessage[] responses)
    {
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
