using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace HardenedGateway.Redis;

/// <summary>
/// The one Redis connection of the app and its availability (CL-002). A call slower than
/// <see cref="HardenedGatewayRedisOptions.OperationTimeout"/> or failing marks Redis unavailable at once:
/// from then on requests do not call Redis at all (local limits alone) while one probe at a time,
/// backing off from 250 ms to 2 s (woken early when the connection reports it is restored), waits for it to answer again. Each transition is logged once.
/// </summary>
/// <remarks>
/// envoyproxy/ratelimit stalled requests for 1-10 s while its Redis was down, because every request still
/// waited for its own Redis call to time out; here only the request that finds Redis gone waits (at most
/// <see cref="HardenedGatewayRedisOptions.OperationTimeout"/>), and the rest skip it until the probe succeeds.
/// </remarks>
internal sealed partial class RedisCoordinator : IAsyncDisposable
{
    // Probe back-off: frequent enough to return within a second or so, sparse enough not to hammer a Redis that is down.
    private static readonly TimeSpan FirstProbeDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LastProbeDelay = TimeSpan.FromSeconds(2);

    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private ConnectionMultiplexer? _connection;
    private volatile bool _available;
    private bool _probing;
    private long _unavailableSince;
    private Task _connectTask = Task.CompletedTask;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RedisCoordinator(IOptions<HardenedGatewayRedisOptions> options, TimeProvider timeProvider, ILogger<RedisCoordinator> logger)
    {
        Options = options.Value.Clone();
        TimeProvider = timeProvider;
        _logger = logger;
        ReplicaId = Guid.NewGuid().ToString("N")[..12];
        Prefix = Options.KeyPrefix;
        BreakerChannel = RedisChannel.Literal(Prefix + "breaker");
    }

    /// <summary>Raised (on a pool thread) when Redis answers again after being unavailable.</summary>
    public event Action? Recovered;

    public HardenedGatewayRedisOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>Gets this process's id in lease names and breaker messages.</summary>
    public string ReplicaId { get; }

    public string Prefix { get; }

    public RedisChannel BreakerChannel { get; }

    /// <summary>Gets a value indicating whether requests should skip Redis and use their local limits alone.</summary>
    public bool IsDegraded => !_available;

    /// <summary>Gets the database, or <see langword="null"/> before the first connection.</summary>
    public IDatabase? Database => _available ? _connection?.GetDatabase() : null;

    /// <summary>Gets the connection whether or not Redis is available (releases are sent regardless and fail quietly).</summary>
    public ConnectionMultiplexer? Connection => _connection;

    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Connects in the background; start-up waits at most <paramref name="wait"/>, then traffic starts on local limits.</summary>
    public Task StartAsync(TimeSpan wait)
    {
        _unavailableSince = TimeProvider.GetTimestamp();
        _connectTask = ConnectAsync();
        return _connectTask.WaitAsync(wait, TimeProvider).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Counts a failed or slow call: the first one marks Redis unavailable, logs it, and starts the probe.</summary>
    public void ReportFailure(Exception? error)
    {
        lock (_lock)
        {
            if (!_available)
            {
                return;
            }

            _available = false;
            _unavailableSince = TimeProvider.GetTimestamp();
        }

        Log.RedisUnavailable(_logger, Options.OperationTimeout.TotalMilliseconds, error?.GetType().Name ?? "timeout", error?.Message ?? "no answer in time");
        StartProbe();
    }

    /// <summary>Awaits a Redis call for at most the operation timeout (or <paramref name="timeout"/>); a failure marks Redis unavailable.</summary>
    /// <returns>The result, or <see langword="null"/> when Redis failed or was too slow.</returns>
    public async ValueTask<RedisResult?> TryAsync(Task<RedisResult> call, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await call.WaitAsync(timeout ?? Options.OperationTimeout, TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(call);
            throw;
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException)
        {
            Observe(call);
            ReportFailure(ex is TimeoutException ? null : ex);
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_connection is { } connection)
        {
            await connection.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            connection.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>A call abandoned at its timeout may still fail later; its exception is observed here, not left to the finalizer.</summary>
    private static void Observe(Task call) =>
        call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private async Task ConnectAsync()
    {
        var configuration = ConfigurationOptions.Parse(Options.Configuration!);

        // Never fail start-up, never queue commands while disconnected (a queued call would wait for the
        // reconnect and then land late); the probe below decides when Redis is usable again.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ClientName ??= "hardened-gateway-" + ReplicaId;

        // The default back-off (exponential from half the connect timeout) kept a restarted Redis unused for
        // 2.5 s in the outage test; a replica tries again every quarter second (on its 1 s heartbeat).
        configuration.ReconnectRetryPolicy = new LinearRetry(250);
        try
        {
            var connection = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
            connection.ConnectionFailed += (_, args) =>
            {
                if (args.ConnectionType == ConnectionType.Interactive)
                {
                    ReportFailure(args.Exception);
                }
            };
            connection.ConnectionRestored += (_, _) => WakeProbe();
            _connection = connection;
        }
#pragma warning disable CA1031 // Redis unavailable never stops the app (CL-002): the probe keeps trying
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RedisUnavailable(_logger, Options.OperationTimeout.TotalMilliseconds, ex.GetType().Name, ex.Message);
            return;
        }

        if (await PingAsync().ConfigureAwait(false))
        {
            MarkAvailable();
        }
        else
        {
            Log.RedisUnavailable(_logger, Options.OperationTimeout.TotalMilliseconds, "connect", "no answer at start-up");
            StartProbe();
        }
    }

    private void WakeProbe()
    {
        lock (_lock)
        {
            _wake.TrySetResult();
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        StartProbe();
    }

    private void StartProbe()
    {
        lock (_lock)
        {
            if (_probing || _available || _stopping.IsCancellationRequested)
            {
                return;
            }

            _probing = true;
        }

        _ = ProbeUntilAvailableAsync();
    }

    private async Task ProbeUntilAvailableAsync()
    {
        var delay = FirstProbeDelay;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                // The connection's own reconnect wakes the probe early: no need to wait out the back-off.
                Task wake;
                lock (_lock)
                {
                    wake = _wake.Task;
                }

                await Task.WhenAny(Task.Delay(delay, TimeProvider, _stopping.Token), wake).ConfigureAwait(false);
                _stopping.Token.ThrowIfCancellationRequested();
                if (await PingAsync().ConfigureAwait(false))
                {
                    lock (_lock)
                    {
                        _probing = false;
                    }

                    MarkAvailable();
                    return;
                }

                delay = delay * 2 > LastProbeDelay ? LastProbeDelay : delay * 2;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down.
        }

        lock (_lock)
        {
            _probing = false;
        }
    }

    private async Task<bool> PingAsync()
    {
        if (_connection is not { } connection || !connection.IsConnected)
        {
            return false;
        }

        var ping = connection.GetDatabase().PingAsync();
        try
        {
            // A probe may take a little longer than a request may wait: it holds up no request.
            var timeout = Options.OperationTimeout < TimeSpan.FromMilliseconds(250) ? TimeSpan.FromMilliseconds(250) : Options.OperationTimeout;
            await ping.WaitAsync(timeout, TimeProvider, _stopping.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException or OperationCanceledException)
        {
            Observe(ping);
            return false;
        }
    }

    private void MarkAvailable()
    {
        TimeSpan unavailableFor;
        lock (_lock)
        {
            if (_available)
            {
                return;
            }

            _available = true;
            unavailableFor = TimeProvider.GetElapsedTime(_unavailableSince);
        }

        Log.RedisAvailable(_logger, unavailableFor.TotalSeconds);
        Recovered?.Invoke();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = RedisEventIds.RedisUnavailable, Level = LogLevel.Warning, Message = "Redis unavailable ({ErrorType}: {Error}); cluster budgets fall back to local limits and shared breakers to local verdicts until it answers again (operation timeout {OperationTimeoutMs} ms).")]
        public static partial void RedisUnavailable(ILogger logger, double operationTimeoutMs, string errorType, string error);

        [LoggerMessage(EventId = RedisEventIds.RedisAvailable, Level = LogLevel.Information, Message = "Redis available again after {UnavailableSeconds:0.###} s; cluster budgets and shared breakers are back.")]
        public static partial void RedisAvailable(ILogger logger, double unavailableSeconds);
    }
}
