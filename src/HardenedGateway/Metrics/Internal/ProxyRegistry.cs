using System.Diagnostics.CodeAnalysis;

namespace HardenedGateway.Metrics;

/// <summary>
/// An immutable snapshot of the proxies' series, sorted by name (ordinal). Writers build a new one under
/// the collector's lock and publish it with a volatile write; readers (rendering, meter callbacks, the
/// lookup in <see cref="MetricsCollector.ForProxy"/>) never lock.
/// </summary>
internal sealed class ProxyRegistry
{
    public static readonly ProxyRegistry Empty = new([]);

    private readonly Dictionary<string, ProxyMetrics> _byName;

    private ProxyRegistry(ProxyMetrics[] sorted)
    {
        Sorted = sorted;
        _byName = new Dictionary<string, ProxyMetrics>(sorted.Length, StringComparer.Ordinal);
        foreach (var proxy in sorted)
        {
            _byName.Add(proxy.ProxyName, proxy);
        }
    }

    /// <summary>Gets the proxies in ordinal order of their names. Never modified.</summary>
    public ProxyMetrics[] Sorted { get; }

    public bool TryGet(string proxyName, [MaybeNullWhen(false)] out ProxyMetrics proxy) => _byName.TryGetValue(proxyName, out proxy);

    public ProxyRegistry With(ProxyMetrics added)
    {
        var sorted = new ProxyMetrics[Sorted.Length + 1];
        var index = 0;
        while (index < Sorted.Length && string.CompareOrdinal(Sorted[index].ProxyName, added.ProxyName) < 0)
        {
            sorted[index] = Sorted[index];
            index++;
        }

        sorted[index] = added;
        Array.Copy(Sorted, index, sorted, index + 1, Sorted.Length - index);
        return new ProxyRegistry(sorted);
    }

    public ProxyRegistry Without(string proxyName)
    {
        if (!_byName.ContainsKey(proxyName))
        {
            return this;
        }

        var sorted = new ProxyMetrics[Sorted.Length - 1];
        var target = 0;
        foreach (var proxy in Sorted)
        {
            if (!string.Equals(proxy.ProxyName, proxyName, StringComparison.Ordinal))
            {
                sorted[target++] = proxy;
            }
        }

        return new ProxyRegistry(sorted);
    }
}
