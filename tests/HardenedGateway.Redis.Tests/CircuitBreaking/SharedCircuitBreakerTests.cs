using System.Diagnostics;
using System.Net;
using HardenedGateway.Redis.Tests.Infrastructure;

namespace HardenedGateway.Redis.Tests.CircuitBreaking;

/// <summary>CL-004: a trip on one replica opens every replica's breaker; half-open probes are counted cluster-wide.</summary>
[TestFixture]
public sealed class SharedCircuitBreakerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Trip_OnOneReplica_OpensEveryReplicaForTheTimeLeft()
    {
        await using var cluster = await ReplicaCluster.StartAsync(3, ClusterUpstream.UpstreamMode.Fail, static (upstream, redis) => GatewayReplica.Settings(upstream, redis, shareBreaker: true, recoveryTimeout: "00:00:05"));
        var (_, upstream, replicas) = cluster;
        var (a, b, c) = (replicas[0], replicas[1], replicas[2]);

        using (var failed = await a.GetAsync())
        {
            Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        }

        Assert.That(a.Upstream.CircuitBreaker!.State, Is.EqualTo(CircuitState.Open));
        var watch = Stopwatch.StartNew();
        Assert.That(await Eventually.HoldsAsync(() => b.Upstream.CircuitBreaker!.State == CircuitState.Open && c.Upstream.CircuitBreaker!.State == CircuitState.Open, Bound), Is.True);
        TestContext.Out.WriteLine($"every replica open {watch.Elapsed.TotalMilliseconds:0} ms after the trip");

        using var rejected = await b.GetAsync();
        Assert.Multiple(() =>
        {
            Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(rejected.Headers.GetValues("X-Circuit-Breaker"), Is.EqualTo(new[] { "open" }));

            // For the time left of the trip on replica a (5 s), not a fresh recovery timeout of its own.
            Assert.That(rejected.Headers.RetryAfter?.Delta, Is.InRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
            Assert.That(b.Upstream.CircuitBreaker!.RetryAfter, Is.LessThanOrEqualTo(a.Upstream.CircuitBreaker!.RetryAfter + TimeSpan.FromMilliseconds(200)));
            Assert.That(upstream.Hits, Is.EqualTo(1), "no replica sent another request to the failing upstream");
        });
    }

    [Test]
    public async Task Probe_HalfOpenOnThreeReplicas_AtMostHalfOpenRequestsClusterWideAndSuccessClosesAll()
    {
        await using var cluster = await ReplicaCluster.StartAsync(3, ClusterUpstream.UpstreamMode.Fail, static (upstream, redis) => GatewayReplica.Settings(upstream, redis, shareBreaker: true, recoveryTimeout: "00:00:01"));
        var (_, upstream, replicas) = cluster;

        (await replicas[0].GetAsync()).Dispose();
        Assert.That(await Eventually.HoldsAsync(() => replicas.All(static r => r.Upstream.CircuitBreaker!.State == CircuitState.Open), Bound), Is.True);

        // After the recovery timeout every replica is half-open (HalfOpenRequests 1): one probe in the whole cluster.
        upstream.Mode = ClusterUpstream.UpstreamMode.Hold;
        Assert.That(await Eventually.HoldsAsync(() => replicas.All(static r => r.Upstream.CircuitBreaker!.State == CircuitState.HalfOpen), Bound), Is.True);
        var probes = replicas.Select(static r => r.GetAsync()).ToArray();
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 1 && probes.Count(static p => p.IsCompleted) == 2, Bound), Is.True, $"upstream in flight {upstream.InFlight}");

        var denied = probes.Where(static p => p.IsCompleted).Select(static p => p.Result).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(denied.Select(static r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(denied.Select(static r => r.Headers.GetValues("X-Circuit-Breaker").Single()), Is.All.EqualTo("half-open"));
            Assert.That(upstream.MaxInFlight, Is.EqualTo(1), "more than HalfOpenRequests probes reached the upstream");
        });

        foreach (var response in denied)
        {
            response.Dispose();
        }

        // The probe succeeds: its replica closes, and so does every other.
        upstream.Mode = ClusterUpstream.UpstreamMode.Answer;
        upstream.Release();
        var results = await Task.WhenAll(probes).WaitAsync(Bound);
        Assert.That(results.Count(static r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(1));
        foreach (var response in results)
        {
            response.Dispose();
        }

        Assert.That(await Eventually.HoldsAsync(() => replicas.All(static r => r.Upstream.CircuitBreaker!.State == CircuitState.Closed), Bound), Is.True);
        foreach (var replica in replicas)
        {
            using var response = await replica.GetAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    public async Task Sync_ReplicaMissedTheMessage_ConvergesWithinASecond()
    {
        await using var cluster = await ReplicaCluster.StartAsync(2, ClusterUpstream.UpstreamMode.Answer, static (upstream, redis) => GatewayReplica.Settings(upstream, redis, shareBreaker: true, recoveryTimeout: "00:00:30"));
        var (redis, _, replicas) = cluster;
        var (a, b) = (replicas[0], replicas[1]);

        // A verdict lands in Redis with no message at all (as for a replica whose subscription was down).
        const string Verdict = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000); redis.call('HSET', KEYS[1], 'state', 'open', 'epoch', 1000, 'until', now + 20000); return 1";
        Assert.That(await redis.CommandAsync("EVAL", Verdict, "1", "test:breaker:ai"), Is.EqualTo("1"));
        var watch = Stopwatch.StartNew();
        Assert.That(await Eventually.HoldsAsync(() => a.Upstream.CircuitBreaker!.State == CircuitState.Open && b.Upstream.CircuitBreaker!.State == CircuitState.Open, Bound), Is.True);
        var converged = watch.Elapsed;
        TestContext.Out.WriteLine($"converged in {converged.TotalMilliseconds:0} ms");
        Assert.Multiple(() =>
        {
            // Read every 500 ms; slack for a busy runner.
            Assert.That(converged, Is.LessThan(TimeSpan.FromMilliseconds(1500)));
            Assert.That(a.Upstream.CircuitBreaker!.RetryAfter, Is.InRange(TimeSpan.FromSeconds(17), TimeSpan.FromSeconds(20)), "opened for the time left, not its own recovery timeout");
        });
    }
}
