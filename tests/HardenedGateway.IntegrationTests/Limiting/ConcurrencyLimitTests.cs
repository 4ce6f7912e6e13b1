using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;

namespace HardenedGateway.IntegrationTests.Limiting;

/// <summary>T058 and T060a: the per-proxy concurrency limit (FR-008..FR-011, SC-005) in reject and queue mode.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class ConcurrencyLimitTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Get_TenConcurrentWithLimitFive_FiveSucceedFiveGet429WithRetryAfterAndProblem()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "5").With("RetryAfterSeconds", "7"));

        var requests = Enumerable.Range(0, 10)
            .Select(i => gateway.Client.GetAsync(new Uri($"/api/ai/slow/{i}", UriKind.Relative)))
            .ToArray();

        // Five are held at the upstream; the other five are answered at once by the gateway.
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 5 && requests.Count(r => r.IsCompleted) == 5), Is.True,
            $"upstream in flight: {upstream.InFlight}, completed: {requests.Count(r => r.IsCompleted)}");
        var rejected = requests.Where(r => r.IsCompleted).Select(r => r.Result).ToArray();
        foreach (var response in rejected)
        {
            var problem = await Problem.ReadAsync(response, HttpStatusCode.TooManyRequests);
            Assert.Multiple(() =>
            {
                Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(7)));
                Assert.That(problem.Reason, Is.EqualTo("concurrency_limit"));
            });
        }

        upstream.Release();
        var all = await Task.WhenAll(requests).WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(all.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(5));
            Assert.That(all.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(5));
            Assert.That(upstream.MaxInFlight, Is.EqualTo(5), "the upstream never sees more than MaxConcurrent at once");
            Assert.That(upstream.Hits, Is.EqualTo(5));
        });
        foreach (var response in all)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task Get_TenConcurrentInQueueMode_FiveRunFiveWaitAllSucceed()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "5").With("QueueTimeout", "00:00:05"));
        var registry = gateway.GetRequiredService<HardenedProxyRegistry>();
        Assert.That(registry.TryGetUpstream("ai", out var ai), Is.True);
        var limiter = ai!.Limiter!;

        var requests = Enumerable.Range(0, 10)
            .Select(i => gateway.Client.GetAsync(new Uri($"/api/ai/slow/{i}", UriKind.Relative)))
            .ToArray();

        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 5 && limiter.QueueLength == 5), Is.True,
            $"upstream in flight: {upstream.InFlight}, queued: {limiter.QueueLength}");
        Assert.That(requests.Count(r => r.IsCompleted), Is.Zero, "queued requests wait rather than being rejected");

        upstream.Release();
        var all = await Task.WhenAll(requests).WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(all.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
            Assert.That(upstream.MaxInFlight, Is.EqualTo(5));
            Assert.That(upstream.Hits, Is.EqualTo(10));
        });
        Assert.That(await Eventually.HoldsAsync(() => limiter.Available == 5 && limiter.QueueLength == 0), Is.True);
        foreach (var response in all)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task Get_QueueTimeoutExpires_Gets429WithRetryAfter()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "1").With("QueueTimeout", "00:00:00.300").With("RetryAfterSeconds", "3"));
        var registry = gateway.GetRequiredService<HardenedProxyRegistry>();
        Assert.That(registry.TryGetUpstream("ai", out var ai), Is.True);

        var holder = gateway.Client.GetAsync(new Uri("/api/ai/hold", UriKind.Relative));
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 1), Is.True);
        var queued = gateway.Client.GetAsync(new Uri("/api/ai/queued", UriKind.Relative));
        Assert.That(await Eventually.HoldsAsync(() => ai!.Limiter!.QueueLength == 1 || queued.IsCompleted), Is.True);

        using var rejected = await queued.WaitAsync(Bound);
        var problem = await Problem.ReadAsync(rejected, HttpStatusCode.TooManyRequests);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("concurrency_limit"));
            Assert.That(rejected.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(upstream.Hits, Is.EqualTo(1));
            Assert.That(holder.IsCompleted, Is.False);
        });

        upstream.Release();
        using var held = await holder.WaitAsync(Bound);
        Assert.That(held.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
