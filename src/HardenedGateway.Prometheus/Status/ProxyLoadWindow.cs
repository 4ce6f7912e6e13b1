using System.Text.Json;

namespace HardenedGateway.Prometheus;

/// <summary>
/// The recent load of one proxy for the status page: a ring of samples of its cumulative counters
/// (requests by code, request-duration buckets) taken once per interval, from which the rates and
/// percentiles of the last <see cref="WindowIntervals"/> intervals and a short load history are
/// computed as differences. Reading the counters takes no lock on the request path.
/// </summary>
/// <remarks>Not thread-safe: one <see cref="StatusSnapshotProducer"/> samples and writes it under its own lock.</remarks>
internal sealed class ProxyLoadWindow
{
    /// <summary>Rates and percentiles cover this many intervals: 10 s at one sample a second (DESIGN.md, "Status page").</summary>
    public const int WindowIntervals = 10;

    /// <summary>The sparkline shows the requests/s of this many intervals.</summary>
    public const int HistoryIntervals = 30;

    private const int Capacity = HistoryIntervals + 1;

    private static readonly int BucketCount = MetricsCollector.DurationBucketBoundaries.Count + 1;

    private readonly TimeProvider _timeProvider;
    private readonly long[] _timestamps = new long[Capacity];
    private readonly long[] _requests = new long[Capacity];
    private readonly long[] _status429 = new long[Capacity];
    private readonly long[] _status503 = new long[Capacity];
    private readonly long[] _status5xx = new long[Capacity];
    private readonly long[] _buckets = new long[Capacity * BucketCount];
    private readonly long[] _bucketDelta = new long[BucketCount];
    private int _count;
    private int _newest = -1;

    public ProxyLoadWindow(ProxyMetrics source, TimeProvider timeProvider)
    {
        Source = source;
        _timeProvider = timeProvider;
    }

    /// <summary>Gets the series sampled; a configuration reload that gives the proxy new series starts a new window.</summary>
    public ProxyMetrics Source { get; }

    /// <summary>Gets or sets the tick in which the proxy was last seen (proxies removed by a reload are dropped).</summary>
    public long LastSeenTick { get; set; }

    /// <summary>Reads the cumulative counters into the ring.</summary>
    public void Sample(long timestamp)
    {
        _newest = (_newest + 1) % Capacity;
        _count = Math.Min(_count + 1, Capacity);
        _timestamps[_newest] = timestamp;
        _requests[_newest] = Source.GetRequestCount(ProxyMetrics.MinStatusCode, ProxyMetrics.MaxStatusCode);
        _status429[_newest] = Source.GetRequestCount(429, 429);
        _status503[_newest] = Source.GetRequestCount(503, 503);
        _status5xx[_newest] = Source.GetRequestCount(500, 599);
        Source.CopyRequestDurationBucketCounts(_buckets.AsSpan(_newest * BucketCount, BucketCount));
    }

    /// <summary>
    /// Writes the live figures as properties of the proxy's object: <c>inFlight</c>, the rates
    /// (<see langword="null"/> until two samples exist), <c>p50Seconds</c>/<c>p99Seconds</c>
    /// (<see langword="null"/> without a finished request in the window) and <c>loadHistory</c>.
    /// </summary>
    public void WriteProperties(Utf8JsonWriter writer)
    {
        writer.WriteNumber("inFlight", Source.ActiveRequests);
        if (_count < 2)
        {
            writer.WriteNull("requestsPerSecond");
            writer.WriteNull("status429PerSecond");
            writer.WriteNull("status503PerSecond");
            writer.WriteNull("status5xxPerSecond");
            writer.WriteNull("p50Seconds");
            writer.WriteNull("p99Seconds");
            writer.WriteStartArray("loadHistory");
            writer.WriteEndArray();
            return;
        }

        var oldest = Index(Math.Min(WindowIntervals, _count - 1));
        var seconds = Seconds(oldest, _newest);
        WriteRate(writer, "requestsPerSecond", _requests, oldest, seconds);
        WriteRate(writer, "status429PerSecond", _status429, oldest, seconds);
        WriteRate(writer, "status503PerSecond", _status503, oldest, seconds);
        WriteRate(writer, "status5xxPerSecond", _status5xx, oldest, seconds);

        long finished = 0;
        for (var bucket = 0; bucket < BucketCount; bucket++)
        {
            _bucketDelta[bucket] = _buckets[(_newest * BucketCount) + bucket] - _buckets[(oldest * BucketCount) + bucket];
            finished += _bucketDelta[bucket];
        }

        WriteQuantile(writer, "p50Seconds", 0.5, finished);
        WriteQuantile(writer, "p99Seconds", 0.99, finished);

        writer.WriteStartArray("loadHistory");
        for (var back = _count - 1; back >= 1; back--)
        {
            var from = Index(back);
            var to = Index(back - 1);
            writer.WriteNumberValue(Rate(_requests, from, to, Seconds(from, to)));
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// Estimates a quantile from per-bucket counts the way Prometheus' <c>histogram_quantile</c> does:
    /// linear interpolation inside the bucket that holds the rank, 0 as the lower bound of the first
    /// bucket, and the highest finite bound when the rank falls in the +Inf bucket.
    /// </summary>
    internal static double EstimateQuantile(ReadOnlySpan<long> bucketCounts, double quantile)
    {
        long total = 0;
        foreach (var count in bucketCounts)
        {
            total += count;
        }

        var bounds = MetricsCollector.DurationBucketBoundaries;
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = quantile * total;
        long cumulative = 0;
        for (var bucket = 0; bucket < bounds.Count; bucket++)
        {
            var inBucket = bucketCounts[bucket];
            if (inBucket > 0 && cumulative + inBucket >= rank)
            {
                var lower = bucket == 0 ? 0 : bounds[bucket - 1];
                return lower + ((bounds[bucket] - lower) * Math.Clamp((rank - cumulative) / inBucket, 0, 1));
            }

            cumulative += inBucket;
        }

        return bounds[^1];
    }

    private static double Rate(long[] counts, int from, int to, double seconds) =>
        seconds <= 0 ? 0 : Math.Round((counts[to] - counts[from]) / seconds, 2);

    private void WriteRate(Utf8JsonWriter writer, string name, long[] counts, int from, double seconds) =>
        writer.WriteNumber(name, Rate(counts, from, _newest, seconds));

    private void WriteQuantile(Utf8JsonWriter writer, string name, double quantile, long finished)
    {
        if (finished == 0)
        {
            writer.WriteNull(name);
            return;
        }

        writer.WriteNumber(name, Math.Round(EstimateQuantile(_bucketDelta, quantile), 4));
    }

    /// <summary>The ring index of the sample <paramref name="back"/> intervals before the newest.</summary>
    private int Index(int back) => (_newest - back + Capacity) % Capacity;

    private double Seconds(int from, int to) => _timeProvider.GetElapsedTime(_timestamps[from], _timestamps[to]).TotalSeconds;
}
