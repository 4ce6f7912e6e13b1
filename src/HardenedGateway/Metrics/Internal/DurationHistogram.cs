using System.Collections.ObjectModel;

namespace HardenedGateway.Metrics;

/// <summary>
/// A lock-free, allocation-free latency histogram with the buckets of DESIGN.md. Counts are kept per
/// bucket (not cumulative) and the sum in <see cref="TimeSpan"/> ticks, so recording is two
/// <see cref="Interlocked"/> operations and the sum stays exact (no floating-point drift).
/// </summary>
internal sealed class DurationHistogram
{
    /// <summary>The finite upper bounds in seconds: 0.01 0.05 0.1 0.25 0.5 1 2.5 5 10 (DESIGN.md).</summary>
    public static readonly double[] UpperBoundsSeconds = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The finite upper bounds in seconds, read-only, for <see cref="MetricsCollector.DurationBucketBoundaries"/> and the meter's advice.</summary>
    public static readonly IReadOnlyList<double> Boundaries = new ReadOnlyCollection<double>(UpperBoundsSeconds);

    /// <summary>The <c>le</c> label values, the last one for the +Inf bucket.</summary>
    public static readonly string[] UpperBoundLabels = ["0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

    /// <summary>The finite upper bounds in ticks (100 ns), exact for every bound above.</summary>
    private static readonly long[] UpperBoundsTicks =
    [
        TimeSpan.TicksPerMillisecond * 10,
        TimeSpan.TicksPerMillisecond * 50,
        TimeSpan.TicksPerMillisecond * 100,
        TimeSpan.TicksPerMillisecond * 250,
        TimeSpan.TicksPerMillisecond * 500,
        TimeSpan.TicksPerSecond,
        TimeSpan.TicksPerMillisecond * 2_500,
        TimeSpan.TicksPerSecond * 5,
        TimeSpan.TicksPerSecond * 10,
    ];

    /// <summary>The number of buckets, +Inf included.</summary>
    public static int BucketCount => UpperBoundLabels.Length;

    private readonly long[] _counts = new long[UpperBoundLabels.Length];
    private long _sumTicks;

    /// <summary>Records one observation; a negative duration counts as zero.</summary>
    public void Record(TimeSpan duration)
    {
        var ticks = Math.Max(0L, duration.Ticks);
        var bounds = UpperBoundsTicks;
        var index = 0;
        while (index < bounds.Length && ticks > bounds[index])
        {
            index++;
        }

        Interlocked.Increment(ref _counts[index]);
        Interlocked.Add(ref _sumTicks, ticks);
    }

    /// <summary>Gets the (non-cumulative) count of one bucket.</summary>
    public long GetBucketCount(int index) => Volatile.Read(ref _counts[index]);

    /// <summary>Gets the sum of every observation in seconds.</summary>
    public double SumSeconds => Volatile.Read(ref _sumTicks) / (double)TimeSpan.TicksPerSecond;
}
