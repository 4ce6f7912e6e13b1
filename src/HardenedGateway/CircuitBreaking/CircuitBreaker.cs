namespace HardenedGateway;

/// <summary>
/// A three-state circuit breaker for one upstream (FR-012..FR-015, SC-004).
/// </summary>
/// <remarks>
/// <para>
/// Closed → Open after <see cref="CircuitBreakerOptions.FailureThreshold"/> consecutive failures;
/// Open → HalfOpen once <see cref="CircuitBreakerOptions.RecoveryTimeout"/> has passed (checked when
/// the breaker is next asked, so no timer runs); HalfOpen admits exactly
/// <see cref="CircuitBreakerOptions.HalfOpenRequests"/> probes at once; a probe success closes the
/// circuit, a probe failure re-opens it, and an abandoned probe frees its slot.
/// </para>
/// <para>
/// Admission in the closed state, and rejection while open before the recovery timeout, take no lock and allocate nothing; every transition happens
/// under one lock and raises <see cref="StateChanged"/> after the lock is released.
/// </para>
/// </remarks>
public sealed class CircuitBreaker
{
    private const int MaxFailureThreshold = 10_000;
    private const int MaxHalfOpenRequests = 1_000;
    private static readonly TimeSpan MinRecoveryTimeout = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan MaxRecoveryTimeout = TimeSpan.FromHours(24);

    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly int _failureThreshold;
    private readonly TimeSpan _recoveryTimeout;
    private readonly int _halfOpenRequests;
    private volatile CircuitState _state;
    private int _consecutiveFailures;
    private long _generation;
    private long _openedAt;
    private int _probesInFlight;

    /// <summary>Initializes a new instance of the <see cref="CircuitBreaker"/> class.</summary>
    /// <param name="options">The thresholds; they are copied. <see cref="CircuitBreakerOptions.Enabled"/> is not consulted here.</param>
    /// <param name="timeProvider">The clock; <see langword="null"/> takes <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A threshold is out of its documented range.</exception>
    public CircuitBreaker(CircuitBreakerOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);

        // The ranges of the configuration contract (DESIGN.md), so a breaker built without DI is checked alike.
        ArgumentOutOfRangeException.ThrowIfLessThan(options.FailureThreshold, 1, nameof(options.FailureThreshold));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.FailureThreshold, MaxFailureThreshold, nameof(options.FailureThreshold));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.HalfOpenRequests, 1, nameof(options.HalfOpenRequests));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.HalfOpenRequests, MaxHalfOpenRequests, nameof(options.HalfOpenRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RecoveryTimeout, MinRecoveryTimeout, nameof(options.RecoveryTimeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.RecoveryTimeout, MaxRecoveryTimeout, nameof(options.RecoveryTimeout));

        _failureThreshold = options.FailureThreshold;
        _recoveryTimeout = options.RecoveryTimeout;
        _halfOpenRequests = options.HalfOpenRequests;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Raised after every transition, outside the breaker's lock.</summary>
    public event EventHandler<CircuitStateChangedEventArgs>? StateChanged;

    /// <summary>Gets the current state. An open circuit whose recovery timeout has passed reports (and becomes) half-open.</summary>
    public CircuitState State
    {
        get
        {
            if (_state == CircuitState.Open && !IsCoolingDown())
            {
                CircuitStateChangedEventArgs? change;
                lock (_lock)
                {
                    change = TryHalfOpenUnsynchronized();
                }

                Raise(change);
            }

            return _state;
        }
    }

    /// <summary>Gets the number of consecutive failures counted in the closed state.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>Gets the number of probes in flight in the half-open state.</summary>
    public int ProbesInFlight => Volatile.Read(ref _probesInFlight);

    /// <summary>Gets how long until an open circuit admits a probe; <see cref="TimeSpan.Zero"/> when it is not open.</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            if (_state != CircuitState.Open)
            {
                return TimeSpan.Zero;
            }

            var remaining = _recoveryTimeout - _timeProvider.GetElapsedTime(Volatile.Read(ref _openedAt));
            return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
        }
    }

    /// <summary>Asks whether a request may go to the upstream.</summary>
    /// <param name="permit">When admitted, the permit to hand back with the outcome.</param>
    /// <returns><see langword="true"/> if the request is admitted; <see langword="false"/> if the circuit is open, or half-open with every probe slot taken.</returns>
    public bool TryAdmit(out CircuitPermit permit)
    {
        if (_state == CircuitState.Closed)
        {
            permit = new CircuitPermit(Volatile.Read(ref _generation), isProbe: false);
            return true;
        }

        // Issue 16: an open circuit before its recovery timeout rejects without the lock, which every
        // shed request would otherwise contend for. A transition racing with this read is benign: the
        // answer is the one this request would have had an instant earlier.
        if (_state == CircuitState.Open && IsCoolingDown())
        {
            permit = default;
            return false;
        }

        CircuitStateChangedEventArgs? change;
        bool admitted;
        lock (_lock)
        {
            change = TryHalfOpenUnsynchronized(); // null unless an open circuit's recovery timeout has passed
            switch (_state)
            {
                case CircuitState.Closed:
                    permit = new CircuitPermit(_generation, isProbe: false);
                    admitted = true;
                    break;
                case CircuitState.HalfOpen when _probesInFlight < _halfOpenRequests:
                    _probesInFlight++;
                    permit = new CircuitPermit(_generation, isProbe: true);
                    admitted = true;
                    break;
                default:
                    permit = default;
                    admitted = false;
                    break;
            }
        }

        Raise(change);
        return admitted;
    }

    /// <summary>Records that the upstream answered acceptably: resets the failure count, and a probe success closes the circuit.</summary>
    /// <param name="permit">The permit from <see cref="TryAdmit"/>.</param>
    public void OnSuccess(CircuitPermit permit)
    {
        if (!permit.IsProbe)
        {
            // Every transition bumps the generation, so a non-probe permit of the current generation implies
            // the circuit is still closed.
            if (Volatile.Read(ref _consecutiveFailures) != 0 && permit.Generation == Volatile.Read(ref _generation))
            {
                Interlocked.Exchange(ref _consecutiveFailures, 0);
            }

            return;
        }

        CircuitStateChangedEventArgs? change = null;
        lock (_lock)
        {
            if (IsCurrentProbeUnsynchronized(permit))
            {
                change = TransitionUnsynchronized(CircuitState.Closed);
            }
        }

        Raise(change);
    }

    /// <summary>Records an upstream failure: counts toward opening the circuit, and a probe failure re-opens it.</summary>
    /// <param name="permit">The permit from <see cref="TryAdmit"/>.</param>
    public void OnFailure(CircuitPermit permit)
    {
        CircuitStateChangedEventArgs? change = null;
        lock (_lock)
        {
            // A probe failure re-opens. A closed-state failure is counted only if it belongs to the current
            // generation; the check and the count go together under the lock, so a request admitted before a
            // transition can never be counted against the next closed period. (Interlocked, because
            // OnSuccess clears the count without the lock.)
            var opens = permit.IsProbe
                ? IsCurrentProbeUnsynchronized(permit)
                : _state == CircuitState.Closed && permit.Generation == _generation &&
                  Interlocked.Increment(ref _consecutiveFailures) >= _failureThreshold;
            if (opens)
            {
                change = TransitionUnsynchronized(CircuitState.Open);
            }
        }

        Raise(change);
    }

    /// <summary>
    /// Records that an admitted request never produced an upstream outcome (its client went away, or
    /// the gateway rejected it later). A probe's slot is freed; nothing else changes.
    /// </summary>
    /// <param name="permit">The permit from <see cref="TryAdmit"/>.</param>
    public void OnAbandoned(CircuitPermit permit)
    {
        if (!permit.IsProbe)
        {
            return;
        }

        lock (_lock)
        {
            if (IsCurrentProbeUnsynchronized(permit) && _probesInFlight > 0)
            {
                _probesInFlight--;
            }
        }
    }

    /// <summary>Closes the circuit and clears the failure count, whatever the state (admin reset, T028).</summary>
    public void Reset()
    {
        CircuitStateChangedEventArgs? change;
        lock (_lock)
        {
            change = TransitionUnsynchronized(CircuitState.Closed);
        }

        Raise(change);
    }

    /// <summary>
    /// Applies another replica's trip (CL-004): the circuit opens, or stays open, for <paramref name="timeLeft"/>
    /// (at most the recovery timeout), then turns half-open as usual. Requests admitted before it no longer count.
    /// </summary>
    /// <param name="timeLeft">How long until half-open; zero or less makes the next request find the circuit half-open.</param>
    /// <remarks><see cref="StateChanged"/> reports the transition with <see cref="CircuitStateChangedEventArgs.IsRemote"/> set.</remarks>
    public void ApplyRemoteOpen(TimeSpan timeLeft)
    {
        if (timeLeft > _recoveryTimeout)
        {
            timeLeft = _recoveryTimeout;
        }

        if (timeLeft < TimeSpan.Zero)
        {
            timeLeft = TimeSpan.Zero;
        }

        CircuitStateChangedEventArgs? change;
        lock (_lock)
        {
            change = TransitionUnsynchronized(CircuitState.Open, remote: true);

            // Back-date the opening so that the recovery timeout ends when the other replica's does.
            var elapsed = _recoveryTimeout - timeLeft;
            Volatile.Write(ref _openedAt, _timeProvider.GetTimestamp() - (long)(elapsed.TotalSeconds * _timeProvider.TimestampFrequency));
        }

        Raise(change);
    }

    /// <summary>Applies another replica's probe success or reset (CL-004): the circuit closes and the failure count clears.</summary>
    /// <remarks><see cref="StateChanged"/> reports the transition with <see cref="CircuitStateChangedEventArgs.IsRemote"/> set.</remarks>
    public void ApplyRemoteClose()
    {
        CircuitStateChangedEventArgs? change = null;
        lock (_lock)
        {
            if (_state != CircuitState.Closed)
            {
                change = TransitionUnsynchronized(CircuitState.Closed, remote: true);
            }
        }

        Raise(change);
    }

    private bool IsCurrentProbeUnsynchronized(CircuitPermit permit) =>
        _state == CircuitState.HalfOpen && permit.Generation == _generation;

    /// <summary>Whether the recovery timeout of the latest opening is still running; meaningful while the state reads open.</summary>
    private bool IsCoolingDown() => _timeProvider.GetElapsedTime(Volatile.Read(ref _openedAt)) < _recoveryTimeout;

    private CircuitStateChangedEventArgs? TryHalfOpenUnsynchronized() =>
        _state == CircuitState.Open && _timeProvider.GetElapsedTime(_openedAt) >= _recoveryTimeout
            ? TransitionUnsynchronized(CircuitState.HalfOpen)
            : null;

    private CircuitStateChangedEventArgs? TransitionUnsynchronized(CircuitState newState, bool remote = false)
    {
        var previous = _state;
        _generation++;
        _probesInFlight = 0;
        Volatile.Write(ref _consecutiveFailures, 0);
        if (newState == CircuitState.Open)
        {
            Volatile.Write(ref _openedAt, _timeProvider.GetTimestamp());
        }

        _state = newState;
        return previous == newState ? null : new CircuitStateChangedEventArgs(previous, newState) { IsRemote = remote };
    }

    private void Raise(CircuitStateChangedEventArgs? change)
    {
        if (change is not null)
        {
            StateChanged?.Invoke(this, change);
        }
    }
}
