using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace HardenedGateway.Redis;

/// <summary>
/// Shares one upstream's breaker verdicts between replicas (CL-004). A local trip (closed or half-open →
/// open) or close (a probe success, an admin reset) is published with the time left; other replicas
/// apply it as a remote verdict. A replica that missed a message converges when it next reads the
/// state (every 500 ms). Half-open transitions are not published: each replica derives them from the
/// shared opening time, and the probes are counted cluster-wide by <see cref="RedisAdmissionGate"/>.
/// </summary>
/// <remarks>
/// Polly and resilience4j keep breaker state per process and their maintainers have declined a
/// distributed breaker in the core (consistency, latency on the hot path, and what to do when the
/// store is down). This shares the verdict only, off the hot path, and a replica that cannot reach
/// Redis simply keeps its own local breaker.
/// </remarks>
internal sealed partial class SharedCircuitBreaker
{
    private const string Open = "open";
    private const string Closed = "closed";

    private readonly Lock _lock = new();
    private readonly RedisCoordinator _coordinator;
    private readonly ILogger _logger;
    private readonly EventHandler<CircuitStateChangedEventArgs> _onStateChanged;
    private CircuitBreaker? _breaker;
    private long _recoveryMilliseconds;
    private long _epoch;

    public SharedCircuitBreaker(RedisCoordinator coordinator, string proxyName, ILogger logger)
    {
        _coordinator = coordinator;
        _logger = logger;
        ProxyName = proxyName;
        StateKey = coordinator.Prefix + "breaker:" + proxyName.ToLowerInvariant();
        _onStateChanged = OnStateChanged;
    }

    public string ProxyName { get; }

    public RedisKey StateKey { get; }

    /// <summary>Gets the epoch of the last verdict this replica published or applied.</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>Follows the breaker of a new upstream instance (start-up, reload).</summary>
    public void Bind(CircuitBreaker breaker, TimeSpan recoveryTimeout)
    {
        lock (_lock)
        {
            if (_breaker is not null)
            {
                _breaker.StateChanged -= _onStateChanged;
            }

            _breaker = breaker;
            _recoveryMilliseconds = (long)recoveryTimeout.TotalMilliseconds;
            breaker.StateChanged += _onStateChanged;
        }
    }

    /// <summary>Handles a message of the breaker channel: <c>name|epoch|state|ms left|replica</c>.</summary>
    public void OnMessage(string[] parts)
    {
        if (parts.Length == 5 &&
            !string.Equals(parts[4], _coordinator.ReplicaId, StringComparison.Ordinal) &&
            long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch) &&
            long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var timeLeft))
        {
            Apply(parts[2], epoch, timeLeft);
        }
    }

    /// <summary>Reads the shared verdict and applies it if this replica has not seen it (the convergence timer).</summary>
    public async Task SyncAsync(IDatabase database, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        Task<RedisResult> call;
        try
        {
            call = database.ScriptEvaluateAsync(BreakerScripts.Read, [StateKey]);
        }
        catch (RedisException ex)
        {
            _coordinator.ReportFailure(ex);
            return;
        }

        if (await _coordinator.TryAsync(call, timeout, cancellationToken).ConfigureAwait(false) is not { } result)
        {
            return;
        }

        var values = (RedisResult[])result!;
        var state = (string?)values[0];
        if (!string.IsNullOrEmpty(state))
        {
            Apply(state, (long)values[1], (long)values[2]);
        }
    }

    private void Apply(string state, long epoch, long timeLeftMilliseconds)
    {
        CircuitBreaker? breaker;
        lock (_lock)
        {
            if (epoch <= _epoch)
            {
                return;
            }

            _epoch = epoch;
            breaker = _breaker;
        }

        if (breaker is null)
        {
            return;
        }

        if (state == Open)
        {
            breaker.ApplyRemoteOpen(TimeSpan.FromMilliseconds(timeLeftMilliseconds));
            Log.RemoteVerdictApplied(_logger, ProxyName, state, epoch, timeLeftMilliseconds);
        }
        else if (state == Closed && breaker.State != CircuitState.Closed)
        {
            breaker.ApplyRemoteClose();
            Log.RemoteVerdictApplied(_logger, ProxyName, state, epoch, 0);
        }
    }

    private void OnStateChanged(object? sender, CircuitStateChangedEventArgs change)
    {
        if (change.IsRemote || change.NewState == CircuitState.HalfOpen || !ReferenceEquals(sender, Volatile.Read(ref _breaker)))
        {
            return;
        }

        _ = PublishAsync(change.NewState == CircuitState.Open ? Open : Closed);
    }

    private async Task PublishAsync(string state)
    {
        if (_coordinator.Database is not { } database)
        {
            // Redis away: this replica keeps its own verdict (CL-002); the others keep theirs.
            return;
        }

        var openMilliseconds = state == Open ? Volatile.Read(ref _recoveryMilliseconds) : 0;
        Task<RedisResult> call;
        try
        {
            call = database.ScriptEvaluateAsync(
                BreakerScripts.Publish,
                [StateKey],
                [state, openMilliseconds, _coordinator.BreakerChannel.ToString(), ProxyName.ToLowerInvariant(), _coordinator.ReplicaId]);
        }
        catch (RedisException ex)
        {
            _coordinator.ReportFailure(ex);
            return;
        }

        if (await _coordinator.TryAsync(call, null, _coordinator.Stopping).ConfigureAwait(false) is { } result)
        {
            var epoch = (long)result;
            lock (_lock)
            {
                if (epoch > _epoch)
                {
                    _epoch = epoch;
                }
            }

            Log.VerdictPublished(_logger, ProxyName, state, epoch, openMilliseconds);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = RedisEventIds.SharedTripPublished, Level = LogLevel.Information, Message = "Shared circuit breaker of proxy {ProxyName}: published {Verdict} (epoch {Epoch}, {TimeLeftMs} ms until half-open) to every replica.")]
        public static partial void VerdictPublished(ILogger logger, string proxyName, string verdict, long epoch, long timeLeftMs);

        [LoggerMessage(EventId = RedisEventIds.RemoteVerdictApplied, Level = LogLevel.Information, Message = "Shared circuit breaker of proxy {ProxyName}: applied another replica's {Verdict} (epoch {Epoch}, {TimeLeftMs} ms until half-open).")]
        public static partial void RemoteVerdictApplied(ILogger logger, string proxyName, string verdict, long epoch, long timeLeftMs);
    }
}
