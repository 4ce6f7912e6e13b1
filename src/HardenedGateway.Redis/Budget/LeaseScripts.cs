namespace HardenedGateway.Redis;

/// <summary>
/// The Lua scripts of the cluster budget: a sorted set per upstream, one member per request in flight,
/// scored by the lease's expiry in Redis's own clock (so replicas' clocks need not agree).
/// </summary>
/// <remarks>
/// <para>
/// This is the expirable-semaphore shape of Redisson's <c>RPermitExpirableSemaphore</c> and of the
/// "fair semaphore" of Redis in Action (6.3), and the fix APISIX adopted for limit-conn in PR 12872: a
/// plain counter (INCR on admit, DECR on release) leaks a slot for ever whenever a release is lost (a
/// crashed worker, a timeout), while a member that expires frees itself. Admission is one round trip:
/// drop expired leases, count, add if under the budget. Unlike Redis in Action's version it reads the
/// time from Redis (<c>TIME</c>), so no replica's clock skew can expire another's leases early, as
/// madelson/DistributedLock's <c>RedisSemaphorePrimitive</c> does; its renewal with <c>ZADD XX</c> (never
/// re-adding a lease that is gone) is the model of <see cref="Renew"/>. <c>redis.replicate_commands()</c>
/// lets a script write after reading the clock on Redis before 5 (a no-op since).
/// </para>
/// </remarks>
internal static class LeaseScripts
{
    /// <summary>KEYS[1] the set; ARGV limit, lease ms, member. Returns the count with the new lease, or minus the count when full.</summary>
    public const string Acquire = """
        redis.replicate_commands()
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        local count = redis.call('ZCARD', KEYS[1])
        if count >= tonumber(ARGV[1]) then
          return -count
        end
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return count + 1
        """;

    /// <summary>
    /// KEYS[1] the set; ARGV lease ms, then the members to renew. Only members still present are renewed
    /// (<c>XX</c>): a lease released or expired meanwhile is never brought back. Returns the count.
    /// </summary>
    public const string Renew = """
        redis.replicate_commands()
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local expiry = now + tonumber(ARGV[1])
        for i = 2, #ARGV do
          redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        local count = redis.call('ZCARD', KEYS[1])
        if count > 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
        end
        return count
        """;
}
