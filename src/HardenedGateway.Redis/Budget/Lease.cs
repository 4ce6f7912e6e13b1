using StackExchange.Redis;

namespace HardenedGateway.Redis;

/// <summary>One request's slot in a cluster-wide set (the budget, or the half-open probes), renewed while it lives.</summary>
internal sealed class Lease(RedisKey key, RedisValue member)
{
    public RedisKey Key { get; } = key;

    public RedisValue Member { get; } = member;

    /// <summary>Gets or sets the probe lease a half-open probe holds besides its budget lease.</summary>
    public Lease? Next { get; set; }
}
