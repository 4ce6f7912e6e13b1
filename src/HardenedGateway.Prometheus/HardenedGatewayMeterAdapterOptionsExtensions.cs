using System.Diagnostics.Metrics;
using Prometheus;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus;

/// <summary>Keeps prometheus-net's meter adapter from exporting the gateway's meter a second time.</summary>
public static class HardenedGatewayMeterAdapterOptionsExtensions
{
    /// <summary>
    /// Leaves the instruments of the gateway's meter (<see cref="MetricsCollector.MeterName"/>) out of a
    /// prometheus-net <see cref="MeterAdapter"/>, keeping the predicate already set for every other instrument.
    /// </summary>
    /// <param name="options">The adapter's options, as passed to <see cref="PrometheusMetrics.ConfigureMeterAdapter"/> or <see cref="MeterAdapter.StartListening(MeterAdapterOptions)"/>.</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    /// <remarks>
    /// <c>AddHardenedGatewayPrometheus</c> already does this for the default adapter; call it yourself in
    /// your own <see cref="PrometheusMetrics.ConfigureMeterAdapter"/> callback, or for an adapter you start, since
    /// the gateway's series are published by <c>AddHardenedGatewayPrometheus</c> with their true types.
    /// </remarks>
    public static MeterAdapterOptions ExcludeHardenedGateway(this MeterAdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var inner = options.InstrumentFilterPredicate;
        options.InstrumentFilterPredicate = instrument => !IsGatewayInstrument(instrument) && (inner is null || inner(instrument));
        return options;
    }

    internal static bool IsGatewayInstrument(Instrument instrument) =>
        string.Equals(instrument.Meter.Name, MetricsCollector.MeterName, StringComparison.Ordinal);
}
