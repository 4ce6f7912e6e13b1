using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace HardenedGateway.Prometheus;

/// <summary>A duration <see cref="Histogram{T}"/> tagged <c>proxy</c> as a prometheus-net histogram with the gateway's buckets.</summary>
internal sealed class HistogramBridge : InstrumentBridge, IRecordedProxyFamily
{
    private readonly global::Prometheus.Histogram _family;
    private readonly ConcurrentDictionary<string, global::Prometheus.Histogram.Child> _children = new(StringComparer.Ordinal);

    public HistogramBridge(MetricFactory factory, Instrument instrument)
    {
        _family = factory.CreateHistogram(instrument.Name, instrument.Description ?? instrument.Name, [GatewayMetricNames.ProxyLabel], new HistogramConfiguration
        {
            Buckets = [.. MetricsCollector.DurationBucketBoundaries],
        });
    }

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (FindTag(tags, GatewayMetricNames.ProxyLabel) is string proxy)
        {
            GetChild(proxy).Observe(value);
        }
    }

    public void AddProxiesTo(HashSet<string> proxies) => proxies.UnionWith(_children.Keys);

    public void RemoveProxies(HashSet<string> proxies)
    {
        foreach (var proxy in proxies)
        {
            if (_children.TryRemove(proxy, out var child))
            {
                child.Remove();
            }
        }
    }

    public override void RemoveAll() => RemoveProxies([.. _children.Keys]);

    public void AddProxies(HashSet<string> proxies)
    {
        foreach (var proxy in proxies)
        {
            _ = GetChild(proxy);
        }
    }

    private global::Prometheus.Histogram.Child GetChild(string proxy) =>
        _children.TryGetValue(proxy, out var child)
            ? child
            : _children.GetOrAdd(proxy, static (name, family) => family.WithLabels(name), _family);
}
