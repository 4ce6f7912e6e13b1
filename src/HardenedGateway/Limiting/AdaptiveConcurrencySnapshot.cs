namespace HardenedGateway;

/// <summary>
/// The state of an adaptive concurrency limit at one moment (AC-001), as the admin endpoint shows it.
/// Obtained from <see cref="ConcurrencyLimiter.GetAdaptiveSnapshot"/>.
/// </summary>
public sealed class AdaptiveConcurrencySnapshot
{
    internal AdaptiveConcurrencySnapshot(int limit, int minLimit, int maxLimit, double baselineSeconds, double recentSeconds)
    {
        Limit = limit;
        MinLimit = minLimit;
        MaxLimit = maxLimit;
        BaselineSeconds = baselineSeconds;
        RecentSeconds = recentSeconds;
    }

    /// <summary>Gets the current limit.</summary>
    public int Limit { get; }

    /// <summary>Gets the floor (<c>AdaptiveConcurrency:MinLimit</c>).</summary>
    public int MinLimit { get; }

    /// <summary>Gets the ceiling (<c>AdaptiveConcurrency:MaxLimit</c>).</summary>
    public int MaxLimit { get; }

    /// <summary>Gets the no-load response-header latency the controller works from, in seconds; 0 until it has measured one.</summary>
    public double BaselineSeconds { get; }

    /// <summary>Gets the recent (last window's mean) response-header latency, in seconds; 0 until it has measured one.</summary>
    public double RecentSeconds { get; }
}
