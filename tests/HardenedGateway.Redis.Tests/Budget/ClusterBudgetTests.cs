using System.Net;
using HardenedGateway.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Redis.Tests.Budget;

/// <summary>CL-001: three replicas (separate hosts, real sockets) in front of one slow upstream share one budget.</summary>
[TestFixture]
public sealed class ClusterBudgetTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task SendAsync_ThreeReplicasOverClusterBudget_UpstreamNeverSeesMoreThanBudget()
    {
        await using var cluster = await ReplicaCluster.StartAsync(3, ClusterUpstream.UpstreamMode.Hold, static (upstream, redis) => GatewayReplica.Settings(upstream, redis, maxConcurrent: 4, clusterMaxConcurrent: 5));
        var (redis, upstream, replicas) = cluster;

        // 12 requests at once, 4 per replica: each local limit (4) admits all of its own, the cluster budget 5 in total.
        var rejected = 0;
        var sends = new List<Task<HttpResponseMessage>>();
        foreach (var replica in replicas)
        {
            for (var i = 0; i < 4; i++)
            {
                sends.Add(SendCountingRejectionsAsync(replica));
            }
        }

        async Task<HttpResponseMessage> SendCountingRejectionsAsync(GatewayReplica replica)
        {
            var response = await replica.GetAsync();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Interlocked.Increment(ref rejected);
            }

            return response;
        }

        Assert.That(await Eventually.HoldsAsync(() => Volatile.Read(ref rejected) == 7 && upstream.InFlight == 5, Bound), Is.True, $"rejected {rejected}, upstream in flight {upstream.InFlight}");
        Assert.Multiple(() =>
        {
            Assert.That(upstream.MaxInFlight, Is.EqualTo(5), "the upstream saw more than the cluster budget at once");

            // A request refused by the cluster budget gave its local slot back.
            Assert.That(replicas.Sum(static r => r.Upstream.Limiter!.InUse), Is.EqualTo(5));
        });

        upstream.Release();
        var responses = await Task.WhenAll(sends).WaitAsync(Bound);
        try
        {
            var tooMany = responses.Where(static r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(responses.Count(static r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(5));
                Assert.That(tooMany, Has.Count.EqualTo(7));
                Assert.That(tooMany.Select(static r => r.Headers.RetryAfter?.Delta), Is.All.EqualTo(TimeSpan.FromSeconds(2)), "the same 429 as the local limit: Retry-After of RetryAfterSeconds");
                Assert.That(tooMany.Select(static r => r.Content.Headers.ContentType?.MediaType), Is.All.EqualTo("application/problem+json"));
                Assert.That(upstream.MaxInFlight, Is.EqualTo(5));
            });
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        // Every release reached Redis (one fire-and-forget ZREM each): nothing leaks.
        Assert.That(await Eventually.HoldsAsync(async () => await redis.CommandAsync("ZCARD", "test:budget:ai") == "0", Bound), Is.True);
        Assert.That(replicas.Sum(static r => r.Upstream.Limiter!.InUse), Is.Zero);
    }

    [Test]
    public async Task SendAsync_TypedClientOverClusterBudget_ThrowsConcurrencyLimitAndGivesLocalSlotBack()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await ClusterUpstream.StartAsync(ClusterUpstream.UpstreamMode.Hold);
        var settings = GatewayReplica.Settings(upstream.BaseAddress, redis.Configuration, maxConcurrent: 2, clusterMaxConcurrent: 1);
        await using var proxying = await GatewayReplica.StartAsync(settings);
        await using var typed = await GatewayReplica.StartAsync(settings, services: services =>
            services.AddHttpClient("ai-client", client => client.BaseAddress = upstream.BaseAddress).AddHardenedHandler(GatewayReplica.ProxyName));
        var client = typed.App.Services.GetRequiredService<IHttpClientFactory>().CreateClient("ai-client");

        // The other replica's proxied request holds the one cluster slot.
        var held = proxying.GetAsync();
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 1, Bound), Is.True);

        var refused = Assert.ThrowsAsync<UpstreamConcurrencyLimitException>(() => client.GetAsync(new Uri("/typed", UriKind.Relative)));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(typed.Upstream.Limiter!.InUse, Is.Zero, "the local slot was given back");
            Assert.That(upstream.Hits, Is.EqualTo(1));
        });

        upstream.Release();
        (await held.WaitAsync(Bound)).Dispose();
        upstream.Mode = ClusterUpstream.UpstreamMode.Answer;
        Assert.That(await Eventually.HoldsAsync(async () => await redis.CommandAsync("ZCARD", "test:budget:ai") == "0", Bound), Is.True);
        using var answered = await client.GetAsync(new Uri("/typed", UriKind.Relative)).WaitAsync(Bound);
        await answered.Content.ReadAsStringAsync();
        Assert.That(answered.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task SendAsync_WithoutThePackage_ClusterSettingsChangeNothing()
    {
        await using var upstream = await ClusterUpstream.StartAsync(ClusterUpstream.UpstreamMode.Hold);

        // A Redis section and Cluster keys, but no AddHardenedGatewayRedis: strict binding accepts them, and only the local limit applies.
        var settings = GatewayReplica.Settings(upstream.BaseAddress, "127.0.0.1:1", maxConcurrent: 2, clusterMaxConcurrent: 1);
        await using var replica = await GatewayReplica.StartAsync(settings, useRedis: false);

        var first = replica.GetAsync();
        var second = replica.GetAsync();
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 2, Bound), Is.True, "both requests reach the upstream: no cluster gate");
        var admin = await replica.AdminAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(replica.Upstream.AdmissionGate, Is.Null);
            Assert.That(replica.MetricsText(), Does.Not.Contain("hardened_gateway_cluster_"));
            Assert.That(admin.TryGetProperty("cluster", out _), Is.False);
            Assert.That(await replica.HealthAsync(), Is.EqualTo("Healthy"));
        });

        upstream.Release();
        (await first.WaitAsync(Bound)).Dispose();
        (await second.WaitAsync(Bound)).Dispose();
    }

    [Test]
    public async Task AdminAndMetrics_ClusterProxy_ShowBudgetInFlightAndDegraded()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await ClusterUpstream.StartAsync(ClusterUpstream.UpstreamMode.Hold);
        // LeaseTime 1 s: the renewal (every third of it) also refreshes the shared count as last seen.
        var settings = GatewayReplica.Settings(upstream.BaseAddress, redis.Configuration, maxConcurrent: 3, clusterMaxConcurrent: 10, leaseTime: "00:00:01");
        await using var replica = await GatewayReplica.StartAsync(settings);

        var sends = new[] { replica.GetAsync(), replica.GetAsync(), replica.GetAsync() };
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 3 && replica.Upstream.AdmissionGate!.ClusterInFlight == 3, Bound), Is.True);

        var admin = await replica.AdminAsync();
        var cluster = admin.GetProperty("cluster");
        var text = replica.MetricsText();
        Assert.Multiple(() =>
        {
            Assert.That(cluster.GetProperty("maxConcurrent").GetInt32(), Is.EqualTo(10));
            Assert.That(cluster.GetProperty("inFlight").GetInt64(), Is.EqualTo(3));
            Assert.That(cluster.GetProperty("degraded").GetBoolean(), Is.False);
            Assert.That(text, Does.Contain("hardened_gateway_cluster_in_flight{proxy=\"ai\"} 3\n"));
            Assert.That(text, Does.Contain("hardened_gateway_cluster_degraded{proxy=\"ai\"} 0\n"));
        });

        await Promtool.AssertPassesCheckMetricsAsync(text);

        // The prometheus-net bridge publishes the same gauges.
        using var scrape = await replica.Client.GetAsync(new Uri("/api/gateway/metrics", UriKind.Relative));
        var bridged = await scrape.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(bridged, Does.Contain("hardened_gateway_cluster_in_flight{proxy=\"ai\"} 3"));
            Assert.That(bridged, Does.Contain("hardened_gateway_cluster_degraded{proxy=\"ai\"} 0"));
        });

        upstream.Release();
        await Responses.DisposeAllAsync(sends, Bound);
    }
}
