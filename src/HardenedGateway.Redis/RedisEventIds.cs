namespace HardenedGateway.Redis;

/// <summary>The event ids of this package's log events (the core's are below 100).</summary>
internal static class RedisEventIds
{
    public const int RedisUnavailable = 100;
    public const int RedisAvailable = 101;
    public const int SharedTripPublished = 110;
    public const int RemoteVerdictApplied = 111;
}
