using HardenedGateway.Metrics;

namespace HardenedGateway;

/// <content>The Prometheus text 0.0.4 renderer.</content>
public sealed partial class MetricsCollector
{
    private const string Counter = "counter";
    private const string Gauge = "gauge";
    private const string Histogram = "histogram";

    private static readonly GatewayErrorReason[] ErrorReasons = CreateErrorReasons();
    private static readonly string[] ErrorReasonLabels = Array.ConvertAll(ErrorReasons, static reason => ",reason=\"" + reason.ToLabel() + "\"} ");

    private void Render(PrometheusTextBuilder builder)
    {
        var proxies = _registry.Sorted;

        RenderRequests(builder, proxies);
        RenderErrors(builder, proxies);
        RenderHistograms(builder, proxies, MetricNames.RequestDuration, MetricNames.RequestDurationHelp, upstream: false);
        RenderHistograms(builder, proxies, MetricNames.UpstreamDuration, MetricNames.UpstreamDurationHelp, upstream: true);
        RenderProxyGauges(builder, proxies, ProxyGauge.ActiveRequests);
        RenderProxyGauges(builder, proxies, ProxyGauge.CircuitBreakerState);
        RenderProxyGauges(builder, proxies, ProxyGauge.ConcurrencyLimit);
        RenderProxyGauges(builder, proxies, ProxyGauge.ConcurrencyAvailable);
        RenderProxyGauges(builder, proxies, ProxyGauge.QueueLength);
        RenderProxyGauges(builder, proxies, ProxyGauge.ClusterInFlight);
        RenderProxyGauges(builder, proxies, ProxyGauge.ClusterDegraded);
        RenderAdaptiveBaselines(builder, proxies);
        RenderUnlabelledCounter(builder, MetricNames.BufferPoolRentedTotal, MetricNames.BufferPoolRentedTotalHelp, _bytesPool?.RentCount ?? 0);
        RenderUnlabelledCounter(builder, MetricNames.BufferPoolFallbackTotal, MetricNames.BufferPoolFallbackTotalHelp, _bytesPool?.FallbackCount ?? 0);
        RenderProxyGauges(builder, proxies, ProxyGauge.TunnelsActive);

        builder.Flush();
    }

    /// <summary>A status code appears once it has been counted; codes are not a fixed set, so none is pre-initialised.</summary>
    private static void RenderRequests(PrometheusTextBuilder builder, ProxyMetrics[] proxies)
    {
        var headerWritten = false;
        foreach (var proxy in proxies)
        {
            for (var blockIndex = 0; blockIndex < proxy.StatusBlockCount; blockIndex++)
            {
                if (proxy.GetStatusBlockOrNull(blockIndex) is not { } block)
                {
                    continue;
                }

                for (var i = 0; i < block.Length; i++)
                {
                    var count = Volatile.Read(ref block[i]);
                    if (count == 0)
                    {
                        continue;
                    }

                    if (!headerWritten)
                    {
                        builder.WriteFamilyHeader(MetricNames.RequestsTotal, MetricNames.RequestsTotalHelp, Counter);
                        headerWritten = true;
                    }

                    builder.StartSample(MetricNames.RequestsTotal, proxy.LabelSet);
                    builder.Append(",code=\"");
                    builder.Append(ProxyMetrics.MinStatusCode + (blockIndex * block.Length) + i);
                    builder.Append("\"} ");
                    builder.Append(count);
                    builder.EndLine();
                }
            }
        }
    }

    /// <summary>Every reason of every proxy appears, zero until it happens, so that alerts on a rate work from the first error.</summary>
    private static void RenderErrors(PrometheusTextBuilder builder, ProxyMetrics[] proxies)
    {
        if (proxies.Length == 0)
        {
            return;
        }

        builder.WriteFamilyHeader(MetricNames.ErrorsTotal, MetricNames.ErrorsTotalHelp, Counter);
        foreach (var proxy in proxies)
        {
            for (var i = 0; i < ErrorReasons.Length; i++)
            {
                builder.StartSample(MetricNames.ErrorsTotal, proxy.LabelSet);
                builder.Append(ErrorReasonLabels[i]);
                builder.Append(proxy.GetErrorCount(ErrorReasons[i]));
                builder.EndLine();
            }
        }
    }

    private static void RenderHistograms(PrometheusTextBuilder builder, ProxyMetrics[] proxies, string name, string help, bool upstream)
    {
        if (proxies.Length == 0)
        {
            return;
        }

        builder.WriteFamilyHeader(name, help, Histogram);
        var labels = DurationHistogram.UpperBoundLabels;
        foreach (var proxy in proxies)
        {
            var histogram = upstream ? proxy.UpstreamDuration : proxy.RequestDuration;
            long cumulative = 0;
            for (var i = 0; i < labels.Length; i++)
            {
                cumulative += histogram.GetBucketCount(i);
                builder.Append(name);
                builder.Append("_bucket{");
                builder.Append(proxy.LabelSet);
                builder.Append(",le=\"");
                builder.Append(labels[i]);
                builder.Append("\"} ");
                builder.Append(cumulative);
                builder.EndLine();
            }

            // _count is the +Inf bucket, read once, so the two always agree.
            builder.Append(name);
            builder.Append("_sum{");
            builder.Append(proxy.LabelSet);
            builder.Append("} ");
            builder.Append(histogram.SumSeconds);
            builder.EndLine();

            builder.Append(name);
            builder.Append("_count{");
            builder.Append(proxy.LabelSet);
            builder.Append("} ");
            builder.Append(cumulative);
            builder.EndLine();
        }
    }

    private static void RenderProxyGauges(PrometheusTextBuilder builder, ProxyMetrics[] proxies, ProxyGauge gauge)
    {
        var (name, help) = gauge switch
        {
            ProxyGauge.ActiveRequests => (MetricNames.ActiveRequests, MetricNames.ActiveRequestsHelp),
            ProxyGauge.CircuitBreakerState => (MetricNames.CircuitBreakerState, MetricNames.CircuitBreakerStateHelp),
            ProxyGauge.ConcurrencyLimit => (MetricNames.ConcurrencyLimit, MetricNames.ConcurrencyLimitHelp),
            ProxyGauge.ConcurrencyAvailable => (MetricNames.ConcurrencyAvailable, MetricNames.ConcurrencyAvailableHelp),
            ProxyGauge.ClusterInFlight => (MetricNames.ClusterInFlight, MetricNames.ClusterInFlightHelp),
            ProxyGauge.ClusterDegraded => (MetricNames.ClusterDegraded, MetricNames.ClusterDegradedHelp),
            ProxyGauge.TunnelsActive => (MetricNames.TunnelsActive, MetricNames.TunnelsActiveHelp),
            _ => (MetricNames.QueueLength, MetricNames.QueueLengthHelp),
        };

        var headerWritten = false;
        foreach (var proxy in proxies)
        {
            if (!TryReadGauge(proxy, gauge, out var value))
            {
                continue;
            }

            if (!headerWritten)
            {
                builder.WriteFamilyHeader(name, help, Gauge);
                headerWritten = true;
            }

            builder.StartSample(name, proxy.LabelSet);
            builder.Append("} ");
            builder.Append(value);
            builder.EndLine();
        }
    }

    /// <summary>The baseline gauge exists only for proxies with an adaptive limit (AC-001).</summary>
    private static void RenderAdaptiveBaselines(PrometheusTextBuilder builder, ProxyMetrics[] proxies)
    {
        var headerWritten = false;
        foreach (var proxy in proxies)
        {
            if (proxy.EnabledLimiter?.Adaptive is not { } adaptive)
            {
                continue;
            }

            if (!headerWritten)
            {
                builder.WriteFamilyHeader(MetricNames.AdaptiveBaseline, MetricNames.AdaptiveBaselineHelp, Gauge);
                headerWritten = true;
            }

            builder.StartSample(MetricNames.AdaptiveBaseline, proxy.LabelSet);
            builder.Append("} ");
            builder.Append(adaptive.BaselineSeconds);
            builder.EndLine();
        }
    }

    private static void RenderUnlabelledCounter(PrometheusTextBuilder builder, string name, string help, long value)
    {
        builder.WriteFamilyHeader(name, help, Counter);
        builder.Append(name);
        builder.Append(' ');
        builder.Append(value);
        builder.EndLine();
    }

    /// <summary>Reads one per-proxy gauge; the limiter gauges exist only for a proxy whose limiter limits anything.</summary>
    internal static bool TryReadGauge(ProxyMetrics proxy, ProxyGauge gauge, out long value)
    {
        switch (gauge)
        {
            case ProxyGauge.ActiveRequests:
                value = proxy.ActiveRequests;
                return true;
            case ProxyGauge.CircuitBreakerState:
                value = proxy.CircuitStateValue;
                return true;
            case ProxyGauge.ClusterInFlight or ProxyGauge.ClusterDegraded:
                // Only for a proxy with an admission gate (a coordination package such as HardenedGateway.Redis).
                var gate = proxy.AdmissionGate;
                value = gate is null ? 0 : gauge == ProxyGauge.ClusterInFlight ? gate.ClusterInFlight : gate.IsDegraded ? 1 : 0;
                return gate is not null;
            case ProxyGauge.TunnelsActive:
                value = proxy.ActiveTunnels;
                return true;
        }

        if (proxy.EnabledLimiter is not { } limiter)
        {
            value = 0;
            return false;
        }

        value = gauge switch
        {
            ProxyGauge.ConcurrencyLimit => limiter.MaxConcurrent,
            ProxyGauge.ConcurrencyAvailable => limiter.Available,
            _ => limiter.QueueLength,
        };
        return true;
    }

    private static GatewayErrorReason[] CreateErrorReasons()
    {
        var all = Enum.GetValues<GatewayErrorReason>();
        return Array.FindAll(all, static reason => reason != GatewayErrorReason.None);
    }
}
