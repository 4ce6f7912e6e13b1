namespace HardenedGateway.Redis.Tests.Infrastructure;

/// <summary>
/// The arrange most cluster tests share: a redis-server of their own, one <see cref="ClusterUpstream"/>
/// and replicas started with the same settings; disposed in the reverse order of their start, as
/// separate <c>await using</c> declarations would be.
/// </summary>
public sealed class ReplicaCluster : IAsyncDisposable
{
    private ReplicaCluster(RedisServer redis, ClusterUpstream upstream, GatewayReplica[] replicas)
    {
        Redis = redis;
        Upstream = upstream;
        Replicas = replicas;
    }

    public RedisServer Redis { get; }

    public ClusterUpstream Upstream { get; }

    public GatewayReplica[] Replicas { get; }

    /// <summary>Starts Redis, the upstream in <paramref name="mode"/>, then <paramref name="replicas"/> replicas of <paramref name="settings"/> (upstream address, Redis configuration).</summary>
    public static async Task<ReplicaCluster> StartAsync(int replicas, ClusterUpstream.UpstreamMode mode, Func<Uri, string, Dictionary<string, string?>> settings)
    {
        var redis = await RedisServer.StartAsync().ConfigureAwait(false);
        ClusterUpstream? upstream = null;
        var started = new List<GatewayReplica>(replicas);
        try
        {
            upstream = await ClusterUpstream.StartAsync(mode).ConfigureAwait(false);
            var replicaSettings = settings(upstream.BaseAddress, redis.Configuration);
            for (var i = 0; i < replicas; i++)
            {
                started.Add(await GatewayReplica.StartAsync(replicaSettings).ConfigureAwait(false));
            }

            return new ReplicaCluster(redis, upstream, [.. started]);
        }
        catch
        {
            await DisposeAsync(redis, upstream, started).ConfigureAwait(false);
            throw;
        }
    }

    public void Deconstruct(out RedisServer redis, out ClusterUpstream upstream, out GatewayReplica[] replicas) =>
        (redis, upstream, replicas) = (Redis, Upstream, Replicas);

    public ValueTask DisposeAsync() => DisposeAsync(Redis, Upstream, Replicas);

    private static async ValueTask DisposeAsync(RedisServer redis, ClusterUpstream? upstream, IReadOnlyList<GatewayReplica> replicas)
    {
        for (var i = replicas.Count - 1; i >= 0; i--)
        {
            await replicas[i].DisposeAsync().ConfigureAwait(false);
        }

        if (upstream is not null)
        {
            await upstream.DisposeAsync().ConfigureAwait(false);
        }

        await redis.DisposeAsync().ConfigureAwait(false);
    }
}
