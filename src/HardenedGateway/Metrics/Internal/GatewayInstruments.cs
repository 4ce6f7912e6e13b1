using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace HardenedGateway.Metrics;

/// <summary>
/// The recording instruments of the <see cref="Meter"/> named <see cref="MetricsCollector.MeterName"/>.
/// Tags are built only when a listener enabled the instrument, in a stack <see cref="TagList"/>.
/// </summary>
internal sealed class GatewayInstruments
{
    // Boxed once so that a listener does not cost a box per request for the usual codes (RFC 9110: 100..599).
    private static readonly object[] BoxedStatusCodes = CreateBoxedStatusCodes();

    private readonly Counter<long> _requests;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _upstreamDuration;

    public GatewayInstruments(Meter meter)
    {
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationHistogram.Boundaries };
        _requests = meter.CreateCounter<long>(MetricNames.RequestsTotal, MetricNames.RequestUnit, MetricNames.RequestsTotalHelp);
        _errors = meter.CreateCounter<long>(MetricNames.ErrorsTotal, MetricNames.RequestUnit, MetricNames.ErrorsTotalHelp);
        _requestDuration = meter.CreateHistogram(MetricNames.RequestDuration, MetricNames.SecondsUnit, MetricNames.RequestDurationHelp, tags: null, advice);
        _upstreamDuration = meter.CreateHistogram(MetricNames.UpstreamDuration, MetricNames.SecondsUnit, MetricNames.UpstreamDurationHelp, tags: null, advice);
    }

    public void RecordRequest(string proxyName, int statusCode, GatewayErrorReason reason, TimeSpan duration, TimeSpan? upstreamDuration)
    {
        if (_requests.Enabled)
        {
            var tags = new TagList
            {
                { MetricNames.ProxyLabel, proxyName },
                { MetricNames.CodeLabel, BoxStatusCode(statusCode) },
            };
            _requests.Add(1, in tags);
        }

        if (reason != GatewayErrorReason.None && _errors.Enabled)
        {
            var tags = new TagList
            {
                { MetricNames.ProxyLabel, proxyName },
                { MetricNames.ReasonLabel, reason.ToLabel() },
            };
            _errors.Add(1, in tags);
        }

        if (_requestDuration.Enabled)
        {
            var tags = new TagList { { MetricNames.ProxyLabel, proxyName } };
            _requestDuration.Record(duration.TotalSeconds, in tags);
        }

        if (upstreamDuration is { } upstream && _upstreamDuration.Enabled)
        {
            var tags = new TagList { { MetricNames.ProxyLabel, proxyName } };
            _upstreamDuration.Record(upstream.TotalSeconds, in tags);
        }
    }

    private static object BoxStatusCode(int statusCode)
    {
        var index = statusCode - 100;
        return (uint)index < (uint)BoxedStatusCodes.Length ? BoxedStatusCodes[index] : statusCode;
    }

    private static object[] CreateBoxedStatusCodes()
    {
        var boxed = new object[500];
        for (var i = 0; i < boxed.Length; i++)
        {
            boxed[i] = 100 + i;
        }

        return boxed;
    }
}
