using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Prometheus;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus;

/// <summary>
/// Publishes the gateway's <see cref="Meter"/> into a prometheus-net registry with the names, label
/// names, types and buckets of <see cref="MetricsCollector.WritePrometheusText"/>.
/// </summary>
/// <remarks>
/// <para>
/// prometheus-net has no public collector extension point and its histograms cannot be set from a
/// snapshot, so the series are fed from the meter: a <see cref="MeterListener"/> forwards every
/// counter increment and histogram observation as it is recorded (no lock, no allocation once a
/// series exists), and reads the observable gauges and counters when the registry is collected.
/// </para>
/// <para>
/// The gauges reported at a collection are the proxies that exist. A proxy removed by a configuration
/// reload loses its series, as it does in the gateway's own text; a live proxy has every error reason
/// (zero until it happens) and both histograms from its first scrape on, as there.
/// </para>
/// </remarks>
internal sealed class PrometheusBridge : IDisposable
{
    private readonly Lock _collectLock = new();
    private readonly MeterListener _listener;
    private readonly object? _meterScope;
    private readonly MetricFactory _factory;
    private readonly List<InstrumentBridge> _all = [];
    private readonly List<GaugeBridge> _gauges = [];
    private readonly List<IRecordedProxyFamily> _recordedFamilies = [];
    private readonly HashSet<string> _liveProxies = new(StringComparer.Ordinal);
    private readonly CollectCallback _collectCallback;
    private bool _disposed;

    public PrometheusBridge(MetricsCollector collector, IOptions<HardenedGatewayPrometheusOptions> options, IMeterFactory? meterFactory = null)
    {
        // Taking the collector creates its meter first, so the listener started below sees every instrument at once.
        ArgumentNullException.ThrowIfNull(collector);
        ArgumentNullException.ThrowIfNull(options);

        // The collector's meter comes from the same factory (AddHardenedProxy), so the factory tells
        // this app's meter apart from another host's in the same process.
        _meterScope = meterFactory;
        Registry = options.Value.Registry ?? throw new InvalidOperationException("HardenedGatewayPrometheusOptions.Registry must not be null.");
        _factory = PrometheusMetrics.WithCustomRegistry(Registry);

        _listener = new MeterListener { InstrumentPublished = OnInstrumentPublished };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentBridge)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentBridge)state!).Record(value, tags));
        _listener.Start();

        // A registry keeps its callbacks for good; it keeps only this small slot, not the bridge.
        _collectCallback = new CollectCallback(this);
        Registry.AddBeforeCollectCallback(_collectCallback.Invoke);
    }

    /// <summary>Gets the registry the series are published in.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Stops listening and removes the gateway's series from the registry (which cannot unregister families).</summary>
    public void Dispose()
    {
        _collectCallback.Detach();
        _listener.Dispose();
        lock (_collectLock)
        {
            _disposed = true;
            foreach (var bridge in _all)
            {
                bridge.RemoveAll();
            }
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!HardenedGatewayMeterAdapterOptionsExtensions.IsGatewayInstrument(instrument) || !ReferenceEquals(instrument.Meter.Scope, _meterScope))
        {
            return;
        }

        InstrumentBridge? bridge = instrument.Name switch
        {
            GatewayMetricNames.RequestsTotal => new LabelledCounterBridge(_factory, instrument, GatewayMetricNames.CodeLabel, zeroValues: []),
            GatewayMetricNames.ErrorsTotal => new LabelledCounterBridge(_factory, instrument, GatewayMetricNames.ReasonLabel, GatewayMetricNames.ErrorReasonLabels),
            GatewayMetricNames.RequestDuration or GatewayMetricNames.UpstreamDuration => new HistogramBridge(_factory, instrument),
            GatewayMetricNames.BufferPoolRentedTotal or GatewayMetricNames.BufferPoolFallbackTotal => new ObservedCounterBridge(_factory, instrument),
            // The per-proxy gauges: active requests, breaker state, the limiter's limit, free slots and queue, the adaptive baseline.
            _ when instrument is ObservableGauge<long> => new GaugeBridge(_factory, instrument, _liveProxies),
            _ when instrument is ObservableGauge<double> => new GaugeBridge(_factory, instrument, _liveProxies),

            // An instrument a later core adds is left out until it is mapped here with its labels.
            _ => null,
        };

        if (bridge is null)
        {
            return;
        }

        lock (_collectLock)
        {
            _all.Add(bridge);
            switch (bridge)
            {
                case GaugeBridge gauge:
                    _gauges.Add(gauge);
                    break;
                case IRecordedProxyFamily family:
                    _recordedFamilies.Add(family);
                    break;
            }
        }

        listener.EnableMeasurementEvents(instrument, bridge);
    }

    private void OnBeforeCollect()
    {
        lock (_collectLock)
        {
            if (_disposed)
            {
                return;
            }

            // Proxies with recorded series before the gauges are read: a proxy created after this point
            // cannot be mistaken for a removed one.
            var stale = new HashSet<string>(StringComparer.Ordinal);
            foreach (var family in _recordedFamilies)
            {
                family.AddProxiesTo(stale);
            }

            _liveProxies.Clear();
            foreach (var gauge in _gauges)
            {
                gauge.BeginCollection();
            }

            _listener.RecordObservableInstruments();

            foreach (var gauge in _gauges)
            {
                gauge.EndCollection();
            }

            stale.ExceptWith(_liveProxies);
            foreach (var family in _recordedFamilies)
            {
                family.RemoveProxies(stale);
                family.AddProxies(_liveProxies);
            }
        }
    }

    private sealed class CollectCallback(PrometheusBridge bridge)
    {
        private PrometheusBridge? _bridge = bridge;

        public void Invoke() => Volatile.Read(ref _bridge)?.OnBeforeCollect();

        public void Detach() => Volatile.Write(ref _bridge, null);
    }
}
