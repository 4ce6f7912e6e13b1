namespace HardenedGateway.Redis;

/// <summary>
/// How the replicas of the app reach Redis to share their budgets and breakers, bound from
/// <c>HardenedGateway:Redis</c>. Which proxies take part is set per proxy under
/// <c>HardenedGateway:Proxies:&lt;name&gt;:Cluster</c>.
/// </summary>
public sealed class HardenedGatewayRedisOptions
{
    /// <summary>The conventional configuration section: <c>HardenedGateway:Redis</c>.</summary>
    public const string SectionName = "HardenedGateway:Redis";

    /// <summary>Gets or sets the StackExchange.Redis configuration string, such as <c>127.0.0.1:6379</c> or <c>redis-1:6379,password=...</c>.</summary>
    /// <value>Required.</value>
    public string? Configuration { get; set; }

    /// <summary>Gets or sets the prefix of every key and channel the package uses, so that several apps can share one Redis.</summary>
    /// <value>The default is <c>hardened-gateway:</c>.</value>
    public string KeyPrefix { get; set; } = "hardened-gateway:";

    /// <summary>
    /// Gets or sets the longest a request waits for Redis; a slower call counts as Redis unavailable and the
    /// request goes on under its local limit alone (CL-002).
    /// </summary>
    /// <value>The default is 50 ms. Allowed: 1 ms to 5 s.</value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Gets or sets how long a request's slot in the cluster budget lives without renewal: a replica that
    /// dies holding slots frees them after at most this long (CL-003). Live requests renew their leases
    /// every third of it, so a long stream keeps its slot.
    /// </summary>
    /// <value>The default is 30 s. Allowed: 1 s to 1 h.</value>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(30);

    internal HardenedGatewayRedisOptions Clone() => (HardenedGatewayRedisOptions)MemberwiseClone();
}
