namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>Builds gateway configuration keys ("HardenedGateway:...") for the tests.</summary>
public sealed class GatewaySettings : Dictionary<string, string?>
{
    public const string Root = "HardenedGateway";

    public GatewaySettings()
        : base(StringComparer.OrdinalIgnoreCase)
    {
    }

    /// <summary>Settings with one proxy named <paramref name="name"/> serving <paramref name="prefix"/>.</summary>
    public static GatewaySettings Proxy(Uri upstream, string name = "ai", string prefix = "/api/ai") =>
        new GatewaySettings().AddProxy(name, prefix, upstream);

    public GatewaySettings AddProxy(string name, string prefix, Uri upstream)
    {
        this[$"{Root}:Proxies:{name}:PathPrefix"] = prefix;
        this[$"{Root}:Proxies:{name}:Upstream"] = upstream.ToString();
        return this;
    }

    /// <summary>Sets a key below the proxy, e.g. "MaxConcurrent" or "CircuitBreaker:Enabled".</summary>
    public GatewaySettings With(string key, string value, string name = "ai")
    {
        this[$"{Root}:Proxies:{name}:{key}"] = value;
        return this;
    }

    /// <summary>Sets a key below HardenedGateway:Transport.</summary>
    public GatewaySettings WithTransport(string key, string value)
    {
        this[$"{Root}:Transport:{key}"] = value;
        return this;
    }

    public GatewaySettings WithBreaker(int failureThreshold, TimeSpan recoveryTimeout, int halfOpenRequests = 1, string name = "ai") =>
        With("CircuitBreaker:Enabled", "true", name)
            .With("CircuitBreaker:FailureThreshold", failureThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture), name)
            .With("CircuitBreaker:RecoveryTimeout", recoveryTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture), name)
            .With("CircuitBreaker:HalfOpenRequests", halfOpenRequests.ToString(System.Globalization.CultureInfo.InvariantCulture), name);

    public GatewaySettings Copy()
    {
        var copy = new GatewaySettings();
        foreach (var (key, value) in this)
        {
            copy[key] = value;
        }

        return copy;
    }
}
