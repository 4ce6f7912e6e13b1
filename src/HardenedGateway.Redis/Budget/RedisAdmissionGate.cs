using System.Globalization;
using StackExchange.Redis;

namespace HardenedGateway.Redis;

/// <summary>
/// The cluster-wide gate of one upstream (CL-001, CL-004): a lease in the upstream's budget set, and for a
/// half-open probe of a shared breaker a lease in its probe set, each taken in one round trip and given
/// back in one (fire and forget). Redis slow or away: the request goes on under its local limit (CL-002).
/// </summary>
internal sealed class RedisAdmissionGate : IAdmissionGate
{
    private static readonly ValueTask<AdmissionTicket> AdmittedLocally = new(new AdmissionTicket(AdmissionOutcome.Admitted));

    private readonly RedisCoordinator _coordinator;
    private readonly RedisValue _maxConcurrent;
    private readonly RedisValue _halfOpenRequests;
    private readonly RedisValue _leaseMilliseconds;
    private readonly HashSet<Lease> _budgetLeases = [];
    private readonly HashSet<Lease> _probeLeases = [];
    private long _clusterInFlight;
    private long _nextLease;

    public RedisAdmissionGate(RedisCoordinator coordinator, string proxyName, int maxConcurrent, int halfOpenRequests)
    {
        _coordinator = coordinator;
        ProxyName = proxyName;
        MaxConcurrent = maxConcurrent;
        HalfOpenRequests = halfOpenRequests;
        _maxConcurrent = maxConcurrent;
        _halfOpenRequests = halfOpenRequests;
        _leaseMilliseconds = (long)coordinator.Options.LeaseTime.TotalMilliseconds;
        var name = proxyName.ToLowerInvariant();
        BudgetKey = coordinator.Prefix + "budget:" + name;
        ProbeKey = coordinator.Prefix + "probes:" + name;
    }

    public string ProxyName { get; }

    /// <summary>Gets the cluster budget; 0 when the gate only counts shared-breaker probes.</summary>
    public int MaxConcurrent { get; }

    /// <summary>Gets the cluster-wide probe limit; 0 when the breaker is not shared.</summary>
    public int HalfOpenRequests { get; }

    public RedisKey BudgetKey { get; }

    public RedisKey ProbeKey { get; }

    public bool IsDegraded => _coordinator.IsDegraded;

    public long ClusterInFlight => Volatile.Read(ref _clusterInFlight);

    /// <summary>Gets the leases this replica holds and renews (budget and probes).</summary>
    public int LeaseCount
    {
        get
        {
            lock (_budgetLeases)
            {
                return _budgetLeases.Count + _probeLeases.Count;
            }
        }
    }

    public ValueTask<AdmissionTicket> EnterAsync(CircuitPermit permit, CancellationToken cancellationToken)
    {
        var probe = permit.IsProbe && HalfOpenRequests > 0;
        if ((!probe && MaxConcurrent == 0) || _coordinator.Database is not { } database)
        {
            // Nothing shared to ask, or Redis away: the local limit alone decides (no allocation).
            return AdmittedLocally;
        }

        return EnterCoreAsync(database, probe, cancellationToken);
    }

    public void Leave(in AdmissionTicket ticket)
    {
        for (var lease = ticket.State as Lease; lease is not null; lease = lease.Next)
        {
            Release(lease);
        }
    }

    /// <summary>Renews every live lease of this replica in one round trip per set, and refreshes the shared count.</summary>
    public async Task RenewAsync(IDatabase database, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (MaxConcurrent > 0)
        {
            var count = await RenewSetAsync(database, BudgetKey, _budgetLeases, timeout, cancellationToken).ConfigureAwait(false);
            if (count is { } seen)
            {
                Volatile.Write(ref _clusterInFlight, seen);
            }
        }

        if (HalfOpenRequests > 0 && ProbeLeaseCount() > 0)
        {
            await RenewSetAsync(database, ProbeKey, _probeLeases, timeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Loads the admission script into Redis's script cache with a budget of zero: it takes nothing.</summary>
    public async Task WarmUpAcquireAsync(IDatabase database, TimeSpan timeout)
    {
        Task<RedisResult> call;
        try
        {
            call = database.ScriptEvaluateAsync(LeaseScripts.Acquire, [BudgetKey], [0, _leaseMilliseconds, "warm-up"]);
        }
        catch (RedisException ex)
        {
            _coordinator.ReportFailure(ex);
            return;
        }

        await _coordinator.TryAsync(call, timeout, CancellationToken.None).ConfigureAwait(false);
    }

    private int ProbeLeaseCount()
    {
        lock (_budgetLeases)
        {
            return _probeLeases.Count;
        }
    }

    private async ValueTask<AdmissionTicket> EnterCoreAsync(IDatabase database, bool probe, CancellationToken cancellationToken)
    {
        Lease? probeLease = null;
        if (probe)
        {
            var (outcome, lease) = await AcquireAsync(database, ProbeKey, _halfOpenRequests, _probeLeases, cancellationToken).ConfigureAwait(false);
            if (outcome == AcquireOutcome.Full)
            {
                return new AdmissionTicket(AdmissionOutcome.ProbeDenied);
            }

            probeLease = lease;
            if (MaxConcurrent == 0)
            {
                return new AdmissionTicket(AdmissionOutcome.Admitted, probeLease);
            }
        }

        var (budgetOutcome, budgetLease) = await AcquireAsync(database, BudgetKey, _maxConcurrent, _budgetLeases, cancellationToken).ConfigureAwait(false);
        if (budgetOutcome == AcquireOutcome.Full)
        {
            if (probeLease is not null)
            {
                Release(probeLease);
            }

            return new AdmissionTicket(AdmissionOutcome.OverBudget);
        }

        if (budgetLease is null)
        {
            return new AdmissionTicket(AdmissionOutcome.Admitted, probeLease);
        }

        budgetLease.Next = probeLease;
        return new AdmissionTicket(AdmissionOutcome.Admitted, budgetLease);
    }

    private async ValueTask<(AcquireOutcome Outcome, Lease? Lease)> AcquireAsync(IDatabase database, RedisKey key, RedisValue limit, HashSet<Lease> live, CancellationToken cancellationToken)
    {
        var member = _coordinator.ReplicaId + ":" + Interlocked.Increment(ref _nextLease).ToString(CultureInfo.InvariantCulture);
        Task<RedisResult> call;
        try
        {
            call = database.ScriptEvaluateAsync(LeaseScripts.Acquire, [key], [limit, _leaseMilliseconds, member]);
        }
        catch (RedisException ex)
        {
            _coordinator.ReportFailure(ex);
            return (AcquireOutcome.Unavailable, null);
        }

        RedisResult? result;
        try
        {
            result = await _coordinator.TryAsync(call, null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The script may still run: take the lease back so it does not hold a slot until it expires.
            RemoveQuietly(database, key, member);
            throw;
        }

        if (result is null)
        {
            // Slow or failed: the request goes on under its local limit; a late-landing lease is taken back.
            RemoveQuietly(database, key, member);
            return (AcquireOutcome.Unavailable, null);
        }

        var count = (long)result;
        if (count <= 0)
        {
            if (live == _budgetLeases)
            {
                Volatile.Write(ref _clusterInFlight, -count);
            }

            return (AcquireOutcome.Full, null);
        }

        if (live == _budgetLeases)
        {
            Volatile.Write(ref _clusterInFlight, count);
        }

        var lease = new Lease(key, member);
        lock (_budgetLeases)
        {
            live.Add(lease);
        }

        return (AcquireOutcome.Taken, lease);
    }

    private void Release(Lease lease)
    {
        bool removed;
        lock (_budgetLeases)
        {
            removed = _budgetLeases.Remove(lease) | _probeLeases.Remove(lease);
        }

        if (removed && _coordinator.Connection is { } connection)
        {
            RemoveQuietly(connection.GetDatabase(), lease.Key, lease.Member);
        }
    }

    /// <summary>ZREM without waiting: the release is the second and last round trip of a request, and nobody waits for it.</summary>
    private static void RemoveQuietly(IDatabase database, RedisKey key, RedisValue member)
    {
        try
        {
            database.SortedSetRemove(key, member, CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Redis away: the lease expires by itself within LeaseTime (CL-003).
        }
    }

    private async Task<long?> RenewSetAsync(IDatabase database, RedisKey key, HashSet<Lease> live, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        RedisValue[] arguments;
        lock (_budgetLeases)
        {
            arguments = new RedisValue[live.Count + 1];
            arguments[0] = _leaseMilliseconds;
            var i = 1;
            foreach (var lease in live)
            {
                arguments[i++] = lease.Member;
            }
        }

        Task<RedisResult> call;
        try
        {
            call = database.ScriptEvaluateAsync(LeaseScripts.Renew, [key], arguments);
        }
        catch (RedisException ex)
        {
            _coordinator.ReportFailure(ex);
            return null;
        }

        var result = await _coordinator.TryAsync(call, timeout, cancellationToken).ConfigureAwait(false);
        return result is null ? null : (long)result;
    }

    private enum AcquireOutcome
    {
        Taken,
        Full,
        Unavailable,
    }
}
