namespace HardenedGateway;

/// <summary>The root of the gateway's settings, bound from the configuration section <c>HardenedGateway</c>.</summary>
public sealed class HardenedProxyOptions
{
    /// <summary>The conventional configuration section name: <c>HardenedGateway</c>.</summary>
    public const string SectionName = "HardenedGateway";

    /// <summary>Gets the settings of the one shared upstream transport.</summary>
    public TransportOptions Transport { get; init; } = new();

    /// <summary>Gets the proxies, keyed by name (letters, digits, <c>-</c>, <c>_</c>; matched case-insensitively).</summary>
    public IDictionary<string, ProxyOptions> Proxies { get; init; } = new Dictionary<string, ProxyOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets a value indicating whether the proxy routes are mapped automatically. Set it to
    /// <see langword="false"/> to place them yourself with <c>app.MapHardenedProxies()</c> (to add
    /// authorization, CORS or ordering).
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool AutoMapProxies { get; set; } = true;

    /// <summary>The section the <c>HardenedGateway.Redis</c> package binds (<c>HardenedGateway:Redis</c>); the core's strict binding leaves it alone.</summary>
    internal const string RedisSectionName = "Redis";

    /// <summary>
    /// Gets or sets nothing: it names the <c>Redis</c> key for the strict binder, which then accepts it without
    /// binding it (the binder binds public properties only). The Redis package binds that section itself.
    /// </summary>
    internal object? Redis { get; set; }
}
