namespace HardenedGateway.Limiting.Adaptive;

/// <summary>
/// The maths of the adaptive limit (AC-001, AC-002): it turns response-header latencies and failures
/// into a concurrency limit between MinLimit and MaxLimit and pushes every change to its limiter.
/// </summary>
/// <remarks>
/// <para>
/// Samples are collected in windows. A window closes once it holds enough samples (one per slot, at
/// least <see cref="MinWindowSamples"/>, at most <see cref="MaxWindowSamples"/>) and has lasted
/// <see cref="MinWindowDuration"/>; its mean is the recent latency. Only requests sent after the last
/// change of the limit count, so a window always measures the limit in force, never the queue the
/// previous limit left behind.
/// </para>
/// <para>
/// The baseline (no-load latency) is the lowest window mean of the current and the previous
/// <see cref="BaselineEpoch"/>: a mean of several answers, so one lucky fast answer cannot pin it
/// (Netflix concurrency-limits issue #37), and forgotten after two epochs, so it is re-learnt over time
/// rather than drifting or staying pinned (issues #34, #165). An epoch with no window within
/// <see cref="ConfirmingRatio"/> of the baseline ends with one window at the estimated knee,
/// limit × baseline / recent: the upstream stays fully busy there, so unlike Envoy's min-RTT window
/// (which pins the limit to min_concurrency) no traffic is shed to measure. When two latency cuts in a
/// row do not bring latency down, the latency is not queueing: the baseline is re-learnt at once
/// (as Envoy recalculates its min RTT after repeated decreases, envoy#38338).
/// </para>
/// <para>
/// Decision per window, with ratio = recent / baseline and tolerance T: above T (or above the latency
/// target) in two windows in a row (at once above 2T) the limit is cut back into the growth zone, limit × sqrt(T) / ratio, at most halved per window
/// (Envoy's gradient minRTT / sampleRTT, clamped like its 0.5 floor); at or below sqrt(T) and with at
/// least half the slots in use it grows towards limit × sqrt(T) / ratio, by at least 1 and at most
/// sqrt(limit) (the headroom of Envoy's controller and Gradient2's queue size); in between it holds. A failure halves it at once, at most once per recent latency (AIMD's multiplicative
/// decrease, one cut per round trip as in TCP). Rejected requests, client aborts and requests that never
/// reached the upstream are never samples (Netflix issue #176: near-zero latencies of dropped requests
/// poison the signal).
/// </para>
/// <para>Thread-safe; the sample path takes one short lock and allocates nothing.</para>
/// </remarks>
internal sealed class AdaptiveLimitController
{
    /// <summary>The shortest window: short enough to converge within seconds, long enough to average a few answers.</summary>
    internal static readonly TimeSpan MinWindowDuration = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a baseline measurement lives: the baseline is the lowest window of this epoch and the previous one.</summary>
    internal static readonly TimeSpan BaselineEpoch = TimeSpan.FromSeconds(10);

    /// <summary>A window needs at least this many samples (a mean of several answers; issue #37).</summary>
    internal const int MinWindowSamples = 4;

    /// <summary>A window needs at most this many samples, however high the limit.</summary>
    internal const int MaxWindowSamples = 32;

    /// <summary>A window within this ratio of the baseline confirms it.</summary>
    internal const double ConfirmingRatio = 1.1;

    /// <summary>A failure multiplies the limit by this (multiplicative decrease).</summary>
    internal const double FailureBackoff = 0.5;

    /// <summary>A latency cut never goes below this fraction of the limit in one window.</summary>
    internal const double MaxLatencyBackoff = 0.5;

    /// <summary>A cut after which latency stayed within this ratio (either way) got no response.</summary>
    private const double UnresponsiveRatio = 0.9;

    private readonly Lock _gate = new();
    private readonly Action<int> _applyLimit;
    private readonly double _ticksPerSecond;
    private readonly long _minWindowTicks;
    private readonly long _epochTicks;
    private readonly double _tolerance;
    private readonly double _growBelow;
    private readonly double _targetSeconds;

    private volatile int _limit;
    private double _estimate;

    private long _windowStart;
    private long _windowSum;
    private int _windowCount;
    private int _windowMaxInUse;
    private long _lastChange = long.MinValue;
    private long _lastDecrease = long.MinValue;

    private bool _hasEpoch;
    private long _epochStart;
    private double _epochMin = double.PositiveInfinity;
    private double _previousEpochMin = double.PositiveInfinity;
    private double _recentAtLastCut = double.NaN;
    private bool _lastWindowCut;
    private bool _probedThisEpoch;
    private bool _cutPending;

    private long _windowCountTotal;
    private double _baselineSeconds;
    private double _recentSeconds;

    /// <summary>Initializes a new instance of the <see cref="AdaptiveLimitController"/> class.</summary>
    /// <param name="options">The validated settings (copied).</param>
    /// <param name="timeProvider">The clock whose timestamps the samples carry.</param>
    /// <param name="applyLimit">Receives every new limit, under the controller's lock, so changes arrive in order.</param>
    public AdaptiveLimitController(AdaptiveConcurrencyOptions options, TimeProvider timeProvider, Action<int> applyLimit)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        MinLimit = Math.Max(1, options.MinLimit);
        MaxLimit = Math.Max(MinLimit, options.MaxLimit);
        _estimate = Math.Clamp(options.EffectiveInitialLimit, MinLimit, MaxLimit);
        _limit = (int)_estimate;
        _tolerance = Math.Max(1.01, options.Tolerance);
        _growBelow = Math.Sqrt(_tolerance);
        _targetSeconds = options.LatencyTarget.TotalSeconds;
        _ticksPerSecond = timeProvider.TimestampFrequency;
        _minWindowTicks = (long)(MinWindowDuration.TotalSeconds * timeProvider.TimestampFrequency);
        _epochTicks = (long)(BaselineEpoch.TotalSeconds * timeProvider.TimestampFrequency);
        _applyLimit = applyLimit;
    }

    /// <summary>Gets or sets the receiver of limit changes (the log); called outside the lock.</summary>
    public Action<AdaptiveLimitChange>? LimitChanged { get; set; }

    /// <summary>Gets the current limit.</summary>
    public int Limit => _limit;

    /// <summary>Gets the floor.</summary>
    public int MinLimit { get; }

    /// <summary>Gets the ceiling.</summary>
    public int MaxLimit { get; }

    /// <summary>Gets the no-load response-header latency the controller works from, in seconds; 0 until the first window.</summary>
    public double BaselineSeconds => Volatile.Read(ref _baselineSeconds);

    /// <summary>Gets the mean response-header latency of the last window, in seconds; 0 until the first window.</summary>
    public double RecentSeconds => Volatile.Read(ref _recentSeconds);

    /// <summary>Gets how many sample windows have closed (for tests and diagnostics).</summary>
    public long WindowCount => Interlocked.Read(ref _windowCountTotal);

    /// <summary>Records an answer's response-header latency.</summary>
    /// <param name="sentAt">The timestamp the request was sent to the upstream.</param>
    /// <param name="headersAt">The timestamp its response headers arrived.</param>
    /// <param name="inUse">Slots in use when the headers arrived, this request's included.</param>
    /// <returns><see langword="true"/> if the limit changed.</returns>
    public bool OnResponse(long sentAt, long headersAt, int inUse)
    {
        AdaptiveLimitChange change;
        lock (_gate)
        {
            if (sentAt < _lastChange)
            {
                // Sent under the previous limit: it measures the queue that limit left, not this one.
                return false;
            }

            if (_windowCount == 0)
            {
                _windowStart = headersAt;
            }

            _windowSum += Math.Max(0, headersAt - sentAt);
            _windowCount++;
            if (inUse > _windowMaxInUse)
            {
                _windowMaxInUse = inUse;
            }

            if (_windowCount < Math.Clamp(_limit, MinWindowSamples, MaxWindowSamples) || headersAt - _windowStart < _minWindowTicks)
            {
                return false;
            }

            if (!CloseWindowUnsynchronized(headersAt, out change))
            {
                return false;
            }
        }

        LimitChanged?.Invoke(change);
        return true;
    }

    /// <summary>Records an upstream failure: the limit is halved, at most once per recent latency.</summary>
    /// <param name="now">The timestamp of the failure.</param>
    /// <returns><see langword="true"/> if the limit changed.</returns>
    public bool OnFailure(long now)
    {
        AdaptiveLimitChange change;
        lock (_gate)
        {
            var spacing = (long)(Math.Max(_recentSeconds, _baselineSeconds) * _ticksPerSecond);
            if (_lastDecrease != long.MinValue && now - _lastDecrease < spacing)
            {
                // One cut per round trip: the failures of one round answer for the same limit.
                return false;
            }

            _recentAtLastCut = double.NaN;
            _lastWindowCut = false;
            if (!ApplyUnsynchronized(Math.Max(MinLimit, _estimate * FailureBackoff), now, AdaptiveLimitReason.UpstreamFailure, out change))
            {
                return false;
            }
        }

        LimitChanged?.Invoke(change);
        return true;
    }

    private bool CloseWindowUnsynchronized(long now, out AdaptiveLimitChange change)
    {
        Interlocked.Increment(ref _windowCountTotal);
        var recent = (double)_windowSum / _windowCount / _ticksPerSecond;
        var maxInUse = _windowMaxInUse;
        ResetWindowUnsynchronized();
        Volatile.Write(ref _recentSeconds, recent);

        var probeDue = false;
        if (!_hasEpoch)
        {
            _hasEpoch = true;
            _epochStart = now;
        }
        else if (now - _epochStart >= _epochTicks)
        {
            var confirmed = _epochMin <= ConfirmingRatio * _previousEpochMin;
            if (!confirmed && !_probedThisEpoch)
            {
                // No window near the baseline all epoch: keep it one more epoch and measure at the knee once.
                probeDue = true;
                _previousEpochMin = Math.Min(_previousEpochMin, _epochMin);
            }
            else
            {
                // Confirmed, or a probe already showed the no-load latency is higher now: the older epoch goes.
                _previousEpochMin = _epochMin;
            }

            _probedThisEpoch = false;
            _epochMin = double.PositiveInfinity;
            _epochStart = now;
        }

        if (recent < _epochMin)
        {
            _epochMin = recent;
        }

        var baseline = Math.Min(_epochMin, _previousEpochMin);
        var ratio = recent / baseline;
        var overTarget = _targetSeconds > 0 && recent > _targetSeconds;
        var cutLastWindow = _lastWindowCut;
        _lastWindowCut = false;

        if (ratio > _tolerance && cutLastWindow && recent >= UnresponsiveRatio * _recentAtLastCut && recent <= _recentAtLastCut / UnresponsiveRatio)
        {
            // The last cut left latency where it was (not lower, and not higher, which would be a load
            // surge): it is not queueing, the no-load latency rose.
            // Re-learn the baseline now instead of cutting towards the floor.
            _previousEpochMin = double.PositiveInfinity;
            _epochMin = recent;
            _epochStart = now;
            baseline = recent;
            ratio = 1;
        }

        Volatile.Write(ref _baselineSeconds, baseline);

        if (ratio > _tolerance || overTarget)
        {
            var severe = ratio > 2 * _tolerance || (overTarget && recent > 2 * _targetSeconds);
            if (!severe && !_cutPending)
            {
                // One slow window may be a pause of this machine (GC, a busy neighbour), not the upstream:
                // a moderate rise must show in two windows in a row before the limit is cut. It does not grow meanwhile.
                _cutPending = true;
                change = default;
                return false;
            }

            _cutPending = false;
            // Back to the top of the growth zone (limit x sqrt(T) / ratio), at most halved per window.
            var factor = ratio > _tolerance ? _growBelow / ratio : 1;
            if (overTarget)
            {
                factor = Math.Min(factor, _targetSeconds / recent);
            }

            _lastWindowCut = ratio > _tolerance;
            _recentAtLastCut = recent;
            var reason = ratio > _tolerance ? AdaptiveLimitReason.LatencyAboveTolerance : AdaptiveLimitReason.LatencyAboveTarget;
            return ApplyUnsynchronized(Math.Max(MinLimit, _estimate * Math.Max(MaxLatencyBackoff, factor)), now, reason, out change);
        }

        _cutPending = false;
        if (probeDue && ratio > ConfirmingRatio)
        {
            _probedThisEpoch = true;
            return ApplyUnsynchronized(Math.Max(MinLimit, _estimate / ratio), now, AdaptiveLimitReason.BaselineProbe, out change);
        }

        if (ratio <= _growBelow && 2 * maxInUse >= _limit)
        {
            // Up by sqrt(limit) far below the threshold, by 1 near it: never past the growth zone by more than one step.
            var grown = Math.Max(_estimate + 1, Math.Min(_estimate + Math.Sqrt(_estimate), _estimate * _growBelow / ratio));
            return ApplyUnsynchronized(Math.Min(MaxLimit, grown), now, AdaptiveLimitReason.Growth, out change);
        }

        change = default;
        return false;
    }

    private bool ApplyUnsynchronized(double estimate, long now, AdaptiveLimitReason reason, out AdaptiveLimitChange change)
    {
        _estimate = estimate;
        var previous = _limit;
        var limit = Math.Clamp((int)estimate, MinLimit, MaxLimit);
        if (limit == previous)
        {
            change = default;
            return false;
        }

        _limit = limit;
        _lastChange = now;
        if (limit < previous)
        {
            _lastDecrease = now;
        }

        ResetWindowUnsynchronized();
        _applyLimit(limit);
        change = new AdaptiveLimitChange(previous, limit, _baselineSeconds, _recentSeconds, reason);
        return true;
    }

    private void ResetWindowUnsynchronized()
    {
        _windowSum = 0;
        _windowCount = 0;
        _windowMaxInUse = 0;
    }
}
