using System.Diagnostics.Metrics;
using HardenedGateway.Metrics;

namespace HardenedGateway;

/// <content>The observable instruments of the <see cref="Meter"/>: gauges read at collection time.</content>
public sealed partial class MetricsCollector
{
    private void CreateObservableInstruments()
    {
        _meter.CreateObservableGauge(MetricNames.ActiveRequests, () => ObserveProxyGauge(ProxyGauge.ActiveRequests), MetricNames.RequestUnit, MetricNames.ActiveRequestsHelp);
        _meter.CreateObservableGauge(MetricNames.CircuitBreakerState, () => ObserveProxyGauge(ProxyGauge.CircuitBreakerState), unit: null, MetricNames.CircuitBreakerStateHelp);
        _meter.CreateObservableGauge(MetricNames.ConcurrencyLimit, () => ObserveProxyGauge(ProxyGauge.ConcurrencyLimit), MetricNames.RequestUnit, MetricNames.ConcurrencyLimitHelp);
        _meter.CreateObservableGauge(MetricNames.ConcurrencyAvailable, () => ObserveProxyGauge(ProxyGauge.ConcurrencyAvailable), MetricNames.RequestUnit, MetricNames.ConcurrencyAvailableHelp);
        _meter.CreateObservableGauge(MetricNames.QueueLength, () => ObserveProxyGauge(ProxyGauge.QueueLength), MetricNames.RequestUnit, MetricNames.QueueLengthHelp);
        _meter.CreateObservableGauge(MetricNames.ClusterInFlight, () => ObserveProxyGauge(ProxyGauge.ClusterInFlight), MetricNames.RequestUnit, MetricNames.ClusterInFlightHelp);
        _meter.CreateObservableGauge(MetricNames.ClusterDegraded, () => ObserveProxyGauge(ProxyGauge.ClusterDegraded), unit: null, MetricNames.ClusterDegradedHelp);
        _meter.CreateObservableGauge(MetricNames.AdaptiveBaseline, ObserveAdaptiveBaselines, MetricNames.SecondsUnit, MetricNames.AdaptiveBaselineHelp);
        _meter.CreateObservableCounter(MetricNames.BufferPoolRentedTotal, () => _bytesPool?.RentCount ?? 0, MetricNames.BufferUnit, MetricNames.BufferPoolRentedTotalHelp);
        _meter.CreateObservableCounter(MetricNames.BufferPoolFallbackTotal, () => _bytesPool?.FallbackCount ?? 0, MetricNames.BufferUnit, MetricNames.BufferPoolFallbackTotalHelp);
        _meter.CreateObservableGauge(MetricNames.TunnelsActive, () => ObserveProxyGauge(ProxyGauge.TunnelsActive), MetricNames.TunnelUnit, MetricNames.TunnelsActiveHelp);
    }

    /// <summary>Runs only while a listener collects, so it may allocate.</summary>
    private List<Measurement<double>> ObserveAdaptiveBaselines()
    {
        var proxies = _registry.Sorted;
        var measurements = new List<Measurement<double>>();
        foreach (var proxy in proxies)
        {
            if (proxy.EnabledLimiter?.Adaptive is { } adaptive)
            {
                measurements.Add(new Measurement<double>(adaptive.BaselineSeconds, new KeyValuePair<string, object?>(MetricNames.ProxyLabel, proxy.ProxyName)));
            }
        }

        return measurements;
    }

    /// <summary>Runs only while a listener collects, so it may allocate.</summary>
    private List<Measurement<long>> ObserveProxyGauge(ProxyGauge gauge)
    {
        var proxies = _registry.Sorted;
        var measurements = new List<Measurement<long>>(proxies.Length);
        foreach (var proxy in proxies)
        {
            if (TryReadGauge(proxy, gauge, out var value))
            {
                measurements.Add(new Measurement<long>(value, new KeyValuePair<string, object?>(MetricNames.ProxyLabel, proxy.ProxyName)));
            }
        }

        return measurements;
    }
}
