using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Prometheus;

namespace HardenedGateway.Prometheus;

/// <summary>A <see cref="Counter{T}"/> tagged <c>proxy</c> and one more label (<c>code</c>, <c>reason</c>) as a prometheus-net counter.</summary>
internal sealed class LabelledCounterBridge : InstrumentBridge, IRecordedProxyFamily
{
    private readonly global::Prometheus.Counter _family;
    private readonly string _labelName;
    private readonly string[] _zeroValues;

    // Keyed by the tag value as recorded (a boxed status code, a reason string), so a recorded
    // measurement finds its series without formatting or allocating.
    private readonly ConcurrentDictionary<(string Proxy, object Value), global::Prometheus.Counter.Child> _children = new();

    /// <param name="factory">Creates the family.</param>
    /// <param name="instrument">The instrument; its name and description become the family's name and help.</param>
    /// <param name="labelName">The second label.</param>
    /// <param name="zeroValues">The values of the second label every proxy shows from the start (the error reasons); may be empty.</param>
    public LabelledCounterBridge(MetricFactory factory, Instrument instrument, string labelName, string[] zeroValues)
    {
        _family = factory.CreateCounter(instrument.Name, instrument.Description ?? instrument.Name, [GatewayMetricNames.ProxyLabel, labelName]);
        _labelName = labelName;
        _zeroValues = zeroValues;
    }

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (FindTag(tags, GatewayMetricNames.ProxyLabel) is string proxy && FindTag(tags, _labelName) is { } labelValue)
        {
            GetChild(proxy, labelValue).Inc(value);
        }
    }

    public void AddProxiesTo(HashSet<string> proxies)
    {
        foreach (var key in _children.Keys)
        {
            proxies.Add(key.Proxy);
        }
    }

    public void RemoveProxies(HashSet<string> proxies)
    {
        if (proxies.Count == 0)
        {
            return;
        }

        foreach (var key in _children.Keys)
        {
            if (proxies.Contains(key.Proxy) && _children.TryRemove(key, out var child))
            {
                child.Remove();
            }
        }
    }

    public override void RemoveAll()
    {
        foreach (var key in _children.Keys)
        {
            if (_children.TryRemove(key, out var child))
            {
                child.Remove();
            }
        }
    }

    public void AddProxies(HashSet<string> proxies)
    {
        foreach (var proxy in proxies)
        {
            foreach (var value in _zeroValues)
            {
                _ = GetChild(proxy, value);
            }
        }
    }

    private global::Prometheus.Counter.Child GetChild(string proxy, object labelValue) =>
        _children.TryGetValue((proxy, labelValue), out var child)
            ? child
            : _children.GetOrAdd(
                (proxy, labelValue),
                static (key, family) => family.WithLabels(key.Proxy, Convert.ToString(key.Value, CultureInfo.InvariantCulture) ?? string.Empty),
                _family);
}
