namespace HardenedGateway.Prometheus;

/// <summary>A per-proxy family fed as requests are recorded (counters, histograms), kept in step with the proxies that exist.</summary>
internal interface IRecordedProxyFamily
{
    /// <summary>Adds the proxies that have series.</summary>
    void AddProxiesTo(HashSet<string> proxies);

    /// <summary>Removes the series of proxies that no longer exist.</summary>
    void RemoveProxies(HashSet<string> proxies);

    /// <summary>Creates the series every existing proxy shows from the start, at zero.</summary>
    void AddProxies(HashSet<string> proxies);
}
