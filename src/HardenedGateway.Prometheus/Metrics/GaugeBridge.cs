using System.Diagnostics.Metrics;
using Prometheus;

namespace HardenedGateway.Prometheus;

/// <summary>
/// An <see cref="ObservableGauge{T}"/> tagged <c>proxy</c> as a prometheus-net gauge. It is read only
/// while the registry is collected, under the bridge's lock; a proxy it no longer reports loses its series.
/// </summary>
internal sealed class GaugeBridge : InstrumentBridge
{
    private readonly MetricFactory _factory;
    private readonly Instrument _instrument;
    private global::Prometheus.Gauge? _family;
    private readonly HashSet<string> _liveProxies;
    private readonly Dictionary<string, global::Prometheus.Gauge.Child> _children = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    /// <param name="factory">Creates the family.</param>
    /// <param name="instrument">The instrument.</param>
    /// <param name="liveProxies">Collects every proxy a gauge reports: the proxies that exist.</param>
    /// <remarks>
    /// The family is created with its first series, as the core's own text shows a family only with a series:
    /// the cluster gauges exist only with HardenedGateway.Redis, the adaptive baseline only for adaptive proxies.
    /// </remarks>
    public GaugeBridge(MetricFactory factory, Instrument instrument, HashSet<string> liveProxies)
    {
        _factory = factory;
        _instrument = instrument;
        _liveProxies = liveProxies;
    }

    public void BeginCollection() => _reported.Clear();

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (FindTag(tags, GatewayMetricNames.ProxyLabel) is not string proxy)
        {
            return;
        }

        if (!_children.TryGetValue(proxy, out var child))
        {
            _family ??= CreateFamily();
            child = _family.WithLabels(proxy);
            _children.Add(proxy, child);
        }

        child.Set(value);
        _reported.Add(proxy);
        _liveProxies.Add(proxy);
    }

    public override void RemoveAll()
    {
        _reported.Clear();
        EndCollection();
    }

    /// <summary>Removes the series of proxies not reported this time (removed, or their limiter is gone).</summary>
    public void EndCollection()
    {
        if (_reported.Count == _children.Count)
        {
            return;
        }

        foreach (var proxy in _children.Keys.Where(proxy => !_reported.Contains(proxy)).ToList())
        {
            _children.Remove(proxy, out var child);
            child!.Remove();
        }
    }

    private global::Prometheus.Gauge CreateFamily() =>
        _factory.CreateGauge(_instrument.Name, _instrument.Description ?? _instrument.Name, [GatewayMetricNames.ProxyLabel]);
}
