using System.Diagnostics;
using System.Net;
using HardenedGateway.Redis.Tests.Infrastructure;

namespace HardenedGateway.Redis.Tests.Budget;

/// <summary>CL-003: a crashed replica's slots come back within LeaseTime; a live long request keeps its slot.</summary>
[TestFixture]
public sealed class LeaseExpiryTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(1);

    [Test]
    public async Task Lease_ReplicaCrashedMidRequest_SlotsReturnWithinLeaseTime()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var relay = TcpRelay.Start(redis.Port);
        await using var upstream = await ClusterUpstream.StartAsync(ClusterUpstream.UpstreamMode.Hold);
        var crashing = await GatewayReplica.StartAsync(GatewayReplica.Settings(upstream.BaseAddress, relay.Configuration, maxConcurrent: 2, clusterMaxConcurrent: 2, leaseTime: "00:00:01"));
        await using var survivor = await GatewayReplica.StartAsync(GatewayReplica.Settings(upstream.BaseAddress, redis.Configuration, maxConcurrent: 2, clusterMaxConcurrent: 2, leaseTime: "00:00:01"));
        try
        {
            // The crashing replica holds the whole cluster budget.
            var held = new[] { crashing.GetAsync(), crashing.GetAsync() };
            Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 2, Bound), Is.True);
            upstream.Mode = ClusterUpstream.UpstreamMode.Answer;

            // It "crashes": to Redis it is gone mid-request, with no release and no renewal (its link is cut).
            await relay.CutAsync();
            var crashed = Stopwatch.StartNew();
            using (var refused = await survivor.GetAsync())
            {
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "the dead replica's leases still hold the budget");
            }

            HttpStatusCode status;
            do
            {
                await Task.Delay(25);
                using var response = await survivor.GetAsync();
                status = response.StatusCode;
            }
            while (status == HttpStatusCode.TooManyRequests && crashed.Elapsed < Bound);

            var returned = crashed.Elapsed;
            TestContext.Out.WriteLine($"slots returned {returned.TotalMilliseconds:0} ms after the crash (LeaseTime {LeaseTime.TotalMilliseconds:0} ms)");
            Assert.Multiple(() =>
            {
                Assert.That(status, Is.EqualTo(HttpStatusCode.OK));

                // The last renewal was at most a third of LeaseTime before the cut; slack for the polling and a busy runner.
                Assert.That(returned, Is.LessThan(LeaseTime + TimeSpan.FromMilliseconds(500)));
            });

            upstream.Release();
            await Responses.DisposeAllAsync(held, Bound);
        }
        finally
        {
            upstream.Release();
            await crashing.DisposeAsync();
        }
    }

    [Test]
    public async Task Lease_RequestLongerThanLeaseTime_KeepsItsSlot()
    {
        await using var cluster = await ReplicaCluster.StartAsync(2, ClusterUpstream.UpstreamMode.Hold, static (upstream, redis) => GatewayReplica.Settings(upstream, redis, maxConcurrent: 1, clusterMaxConcurrent: 1, leaseTime: "00:00:01"));
        var (redis, upstream, replicas) = cluster;
        var (streaming, other) = (replicas[0], replicas[1]);

        var held = streaming.GetAsync();
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 1, Bound), Is.True);
        upstream.Mode = ClusterUpstream.UpstreamMode.Answer;

        // Well past LeaseTime: the lease is renewed every third of it, so the slot is still taken.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < LeaseTime * 2.5)
        {
            using var response = await other.GetAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), $"the long request lost its slot after {watch.Elapsed.TotalMilliseconds:0} ms");
            await Task.Delay(100);
        }

        upstream.Release();
        (await held.WaitAsync(Bound)).Dispose();
        Assert.That(await Eventually.HoldsAsync(async () => await redis.CommandAsync("ZCARD", "test:budget:ai") == "0", Bound), Is.True);
        using var admitted = await other.GetAsync();
        Assert.That(admitted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
