namespace HardenedGateway;

/// <summary>Endpoint metadata that marks a proxy endpoint mapped by <c>MapHardenedProxies()</c>.</summary>
/// <param name="proxyName">The proxy's name.</param>
public sealed class HardenedProxyEndpointMetadata(string proxyName)
{
    /// <summary>Gets the proxy's name.</summary>
    public string ProxyName { get; } = proxyName;
}
