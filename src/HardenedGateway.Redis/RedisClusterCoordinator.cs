using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace HardenedGateway.Redis;

/// <summary>
/// Hands the core a <see cref="RedisAdmissionGate"/> for each upstream with <c>Cluster</c> settings,
/// follows their breakers, and runs the background work: lease renewal (every third of
/// <see cref="HardenedGatewayRedisOptions.LeaseTime"/>) and the shared-breaker convergence read (every 500 ms).
/// </summary>
internal sealed class RedisClusterCoordinator : IAdmissionGateProvider
{
    /// <summary>How often a replica reads the shared verdicts, so one that missed a message converges within about this long (CL-004).</summary>
    public static readonly TimeSpan BreakerSyncInterval = TimeSpan.FromMilliseconds(500);

    private readonly Lock _lock = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly List<RedisAdmissionGate> _gates = [];
    private readonly Dictionary<string, SharedCircuitBreaker> _breakers = new(StringComparer.OrdinalIgnoreCase);

    public RedisClusterCoordinator(RedisCoordinator redis, ILoggerFactory loggerFactory)
    {
        Redis = redis;
        _loggerFactory = loggerFactory;
    }

    public RedisCoordinator Redis { get; }

    public IAdmissionGate? GetGate(HardenedUpstream upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        var cluster = upstream.Settings.Cluster;
        var shareBreaker = cluster.ShareCircuitBreaker && upstream.CircuitBreaker is not null;
        if (cluster.MaxConcurrent <= 0 && !shareBreaker)
        {
            return null;
        }

        var gate = new RedisAdmissionGate(Redis, upstream.Name, cluster.MaxConcurrent, shareBreaker ? upstream.Settings.CircuitBreaker.HalfOpenRequests : 0);
        lock (_lock)
        {
            // A gate replaced by a reload stays until its requests have given their leases back.
            _gates.RemoveAll(old => string.Equals(old.ProxyName, gate.ProxyName, StringComparison.OrdinalIgnoreCase) && old.LeaseCount == 0);
            _gates.Add(gate);
            if (shareBreaker)
            {
                if (!_breakers.TryGetValue(upstream.Name, out var shared))
                {
                    shared = new SharedCircuitBreaker(Redis, upstream.Name, _loggerFactory.CreateLogger<SharedCircuitBreaker>());
                    _breakers.Add(upstream.Name, shared);
                }

                shared.Bind(upstream.CircuitBreaker!, upstream.Settings.CircuitBreaker.RecoveryTimeout);
            }
        }

        return gate;
    }

    /// <summary>Dispatches a message of the breaker channel to its proxy's shared breaker.</summary>
    public void OnBreakerMessage(RedisValue message)
    {
        var parts = ((string?)message)?.Split('|');
        if (parts is not { Length: > 0 })
        {
            return;
        }

        SharedCircuitBreaker? shared;
        lock (_lock)
        {
            _breakers.TryGetValue(parts[0], out shared);
        }

        shared?.OnMessage(parts);
    }

    /// <summary>
    /// At start-up, once connected: reads each shared verdict (a replica that starts while the circuit is open
    /// opens too) and runs each script once, with a generous timeout, so that the first requests do not meet a
    /// cold script cache or cold code and fall back for nothing.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(2);
        if (Redis.Database is not { } database)
        {
            return;
        }

        RedisAdmissionGate[] gates;
        SharedCircuitBreaker[] breakers;
        lock (_lock)
        {
            gates = [.. _gates];
            breakers = [.. _breakers.Values];
        }

        foreach (var gate in gates)
        {
            await gate.RenewAsync(database, timeout, cancellationToken).ConfigureAwait(false);
            await gate.WarmUpAcquireAsync(database, timeout).ConfigureAwait(false);
        }

        foreach (var shared in breakers)
        {
            await shared.SyncAsync(database, timeout, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task RenewLeasesAsync(CancellationToken cancellationToken)
    {
        if (Redis.Database is not { } database)
        {
            return;
        }

        foreach (var gate in SnapshotGates())
        {
            await gate.RenewAsync(database, null, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task SyncBreakersAsync(CancellationToken cancellationToken)
    {
        if (Redis.Database is not { } database)
        {
            return;
        }

        foreach (var shared in SnapshotBreakers())
        {
            await shared.SyncAsync(database, null, cancellationToken).ConfigureAwait(false);
        }
    }

    // Copies taken under the lock: the Redis calls run without it while GetGate may add gates and breakers.
    private RedisAdmissionGate[] SnapshotGates()
    {
        lock (_lock)
        {
            return [.. _gates];
        }
    }

    private SharedCircuitBreaker[] SnapshotBreakers()
    {
        lock (_lock)
        {
            return [.. _breakers.Values];
        }
    }

    internal bool TryGetSharedBreaker(string proxyName, out SharedCircuitBreaker? shared)
    {
        lock (_lock)
        {
            return _breakers.TryGetValue(proxyName, out shared);
        }
    }
}
