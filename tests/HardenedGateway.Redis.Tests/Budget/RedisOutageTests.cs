using System.Diagnostics;
using System.Net;
using HardenedGateway.Redis.Tests.Infrastructure;

namespace HardenedGateway.Redis.Tests.Budget;

/// <summary>CL-002: Redis unavailable never stops traffic; replicas fall back to local limits, say so, and come back by themselves.</summary>
[TestFixture]
public sealed class RedisOutageTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    // OperationTimeout in these tests is 50 ms; a request may wait that long once, plus scheduling on a busy 2-core runner.
    // envoyproxy/ratelimit's failure mode, the one this guards against, stalled requests for 1 to 10 s.
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(750);

    [Test]
    public async Task SendAsync_RedisKilledAndRestartedMidLoad_ContinuesOnLocalLimitsReportsDegradedAndReturns()
    {
        await using var cluster = await StartAsync(replicas: 2);
        var (redis, upstream, replicas) = cluster;
        var (a, b) = (replicas[0], replicas[1]);
        foreach (var replica in replicas)
        {
            using var warm = await replica.GetAsync();
            Assert.That(warm.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await replica.HealthAsync(), Is.EqualTo("Healthy"));
        }

        // Load on both replicas while Redis is killed: every request is answered, none waits for Redis.
        using var stop = new CancellationTokenSource();
        var load = replicas.Select(replica => LoadAsync(replica, stop.Token)).ToArray();
        await Task.Delay(100);
        await redis.KillAsync();
        var killed = Stopwatch.StartNew();
        Assert.That(await Eventually.HoldsAsync(() => replicas.All(static r => r.Upstream.AdmissionGate!.IsDegraded), Bound), Is.True);
        var fallback = killed.Elapsed;
        await Task.Delay(300);
        await stop.CancelAsync();
        var results = (await Task.WhenAll(load).WaitAsync(Bound)).SelectMany(static r => r).ToList();

        Assert.Multiple(async () =>
        {
            Assert.That(results, Has.Count.GreaterThan(10));
            Assert.That(results.Select(static r => r.Status), Is.All.EqualTo(HttpStatusCode.OK), "Redis unavailable never stops traffic");
            Assert.That(results.Max(static r => r.Elapsed), Is.LessThan(TimeSpan.FromMilliseconds(50) + Slack), "no request waited for Redis beyond OperationTimeout");
            Assert.That(fallback, Is.LessThan(TimeSpan.FromMilliseconds(50) + Slack), "the fallback took longer than OperationTimeout");
            foreach (var replica in replicas)
            {
                Assert.That(await replica.HealthAsync(), Is.EqualTo("Degraded"));
                Assert.That(replica.MetricsText(), Does.Contain("hardened_gateway_cluster_degraded{proxy=\"ai\"} 1\n"));
            }
        });

        // Still limited while degraded: the local limit (2) of each replica.
        upstream.Mode = ClusterUpstream.UpstreamMode.Hold;
        upstream.ResetMaxInFlight();
        var held = new[] { a.GetAsync(), a.GetAsync(), a.GetAsync() };
        var third = await Task.WhenAny(held).WaitAsync(Bound);
        using (var rejected = await third)
        {
            Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        }

        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 2, Bound), Is.True);
        upstream.Release();
        await Responses.DisposeAllAsync(held, Bound);

        // Back by itself: Redis restarts on the same port, empty.
        await redis.RestartAsync();
        var restarted = Stopwatch.StartNew();
        Assert.That(await Eventually.HoldsAsync(() => replicas.All(static r => !r.Upstream.AdmissionGate!.IsDegraded), Bound), Is.True, "did not return to the shared budget");
        TestContext.Out.WriteLine($"fallback {fallback.TotalMilliseconds:0} ms, recovery {restarted.Elapsed.TotalMilliseconds:0} ms");
        Assert.Multiple(async () =>
        {
            Assert.That(await a.HealthAsync(), Is.EqualTo("Healthy"));
            Assert.That(a.MetricsText(), Does.Contain("hardened_gateway_cluster_degraded{proxy=\"ai\"} 0\n"));
        });

        // The shared budget applies again: 2 + 2 local slots, 3 in the cluster.
        upstream.ResetMaxInFlight();
        var again = new[] { a.GetAsync(), a.GetAsync(), b.GetAsync(), b.GetAsync() };
        var refused = await Task.WhenAny(again).WaitAsync(Bound);
        using (var response = await refused)
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        }

        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 3, Bound), Is.True);
        Assert.That(upstream.MaxInFlight, Is.EqualTo(3));
        upstream.Release();
        await Responses.DisposeAllAsync(again, Bound);
    }

    [Test]
    public async Task SendAsync_RedisFrozen_RequestWaitsAtMostOperationTimeoutThenReturns()
    {
        await using var cluster = await StartAsync(replicas: 1);
        var (redis, _, replicas) = cluster;
        var replica = replicas[0];
        using (var warm = await replica.GetAsync())
        {
            Assert.That(warm.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        // SIGSTOP: the connection stays open and nothing answers, the case a socket error does not reveal.
        await redis.PauseAsync();
        var watch = Stopwatch.StartNew();
        using (var response = await replica.GetAsync())
        {
            watch.Stop();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(50) + Slack));
            Assert.That(replica.Upstream.AdmissionGate!.IsDegraded, Is.True);
            Assert.That(await replica.HealthAsync(), Is.EqualTo("Degraded"));
        });

        // Later requests do not ask Redis at all while it is away.
        var quick = Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            using var response = await replica.GetAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(quick.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(50) + Slack));

        await redis.ResumeAsync();
        Assert.That(await Eventually.HoldsAsync(() => !replica.Upstream.AdmissionGate!.IsDegraded, Bound), Is.True);
        Assert.That(await replica.HealthAsync(), Is.EqualTo("Healthy"));
    }

    private static async Task<List<(HttpStatusCode Status, TimeSpan Elapsed)>> LoadAsync(GatewayReplica replica, CancellationToken stop)
    {
        var results = new List<(HttpStatusCode, TimeSpan)>();
        for (var i = 0; i < 2_000 && !stop.IsCancellationRequested; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await replica.GetAsync();
            await response.Content.ReadAsStringAsync(CancellationToken.None);
            results.Add((response.StatusCode, watch.Elapsed));
        }

        return results;
    }

    // OperationTimeout 50 ms: these tests are about it.
    private static Task<ReplicaCluster> StartAsync(int replicas) =>
        ReplicaCluster.StartAsync(replicas, ClusterUpstream.UpstreamMode.Answer, static (upstream, redis) => GatewayReplica.Settings(upstream, redis, maxConcurrent: 2, clusterMaxConcurrent: 3, operationTimeout: "00:00:00.050"));
}
