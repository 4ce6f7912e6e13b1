using System.Diagnostics.Metrics;
using Prometheus;

namespace HardenedGateway.Prometheus;

/// <summary>An unlabelled <see cref="ObservableCounter{T}"/> (a running total read at collection) as a prometheus-net counter.</summary>
/// <remarks>
/// The counter grows by what the total grew since the last read. For one gateway that is the total
/// itself; a later gateway in the same process and registry (tests) continues the count rather than
/// being hidden behind a larger stale value, as <c>IncTo</c> would leave it.
/// </remarks>
internal sealed class ObservedCounterBridge(MetricFactory factory, Instrument instrument) : InstrumentBridge
{
    private readonly global::Prometheus.Counter _family = factory.CreateCounter(instrument.Name, instrument.Description ?? instrument.Name);
    private double _lastTotal;

    /// <summary>Runs only while the registry is collected, under the bridge's lock.</summary>
    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (value > _lastTotal)
        {
            _family.Inc(value - _lastTotal);
        }

        _lastTotal = value;
    }
}
