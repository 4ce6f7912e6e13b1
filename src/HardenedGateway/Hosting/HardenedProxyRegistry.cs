using System.Diagnostics.CodeAnalysis;
using HardenedGateway.Diagnostics;
using HardenedGateway.Forwarding;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HardenedGateway;

/// <summary>
/// The gateway's named upstreams at run time: each proxy's limiter, breaker and metrics, kept in step
/// with configuration reloads. Resolve it from dependency injection to inspect or reset upstreams.
/// </summary>
/// <remarks>
/// On a configuration reload the new settings are validated first; a bad reload is rejected with an
/// error log and the old settings keep serving. A proxy whose settings did not change keeps its
/// limiter and breaker (and their state); a changed proxy gets new ones, while requests in flight
/// finish on the instance they started with.
/// </remarks>
public sealed partial class HardenedProxyRegistry : IDisposable
{
    private readonly Lock _reloadLock = new();
    private readonly IOptionsFactory<HardenedProxyOptions>? _optionsFactory;
    private readonly MetricsCollector _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly IDisposable? _reloadSubscription;
    private readonly IAdmissionGateProvider? _gates;
    private volatile Snapshot _snapshot;
    private CancellationTokenSource _changeTokenSource = new();

    internal HardenedProxyRegistry(
        HardenedProxyOptions options,
        MetricsCollector metrics,
        TimeProvider timeProvider,
        ILogger<HardenedProxyRegistry> logger,
        IOptionsFactory<HardenedProxyOptions>? optionsFactory = null,
        Func<IChangeToken?>? reloadTokenProducer = null,
        IAdmissionGateProvider? gates = null)
    {
        _gates = gates;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _optionsFactory = optionsFactory;
        Transport = options.Transport.Clone();
        AutoMapProxies = options.AutoMapProxies;
        _snapshot = Build(options, Snapshot.Empty);
        if (reloadTokenProducer is not null && optionsFactory is not null)
        {
            _reloadSubscription = ChangeToken.OnChange(reloadTokenProducer, Reload);
        }
    }

    /// <summary>Gets every named upstream (proxies and client-only upstreams), ordered by name.</summary>
    public IReadOnlyList<HardenedUpstream> Upstreams => _snapshot.All;

    internal TransportOptions Transport { get; }

    internal bool AutoMapProxies { get; }

    internal HardenedUpstream[] Routes => _snapshot.Routes;

    /// <summary>Finds an upstream by name (case-insensitive).</summary>
    /// <param name="name">The upstream's name.</param>
    /// <param name="upstream">The upstream, when found.</param>
    /// <returns><see langword="true"/> if an upstream has that name.</returns>
    public bool TryGetUpstream(string name, [NotNullWhen(true)] out HardenedUpstream? upstream) =>
        HardenedUpstream.TryFind(_snapshot.All, name, out upstream);

    /// <summary>Gets a token that fires when the set of upstreams changes (reload).</summary>
    /// <returns>A change token.</returns>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changeTokenSource).Token);

    /// <inheritdoc />
    public void Dispose()
    {
        _reloadSubscription?.Dispose();
        _changeTokenSource.Dispose();
    }

    /// <summary>Finds the proxy whose prefix matches the raw path, longest prefix first.</summary>
    internal bool TryMatch(ReadOnlySpan<char> path, [NotNullWhen(true)] out HardenedUpstream? upstream)
    {
        foreach (var candidate in _snapshot.Routes)
        {
            if (ForwardingPath.MatchesPrefix(path, candidate.PathPrefix!))
            {
                upstream = candidate;
                return true;
            }
        }

        upstream = null;
        return false;
    }

    /// <summary>Adds (or returns) an upstream reached only through typed clients.</summary>
    internal HardenedUpstream GetOrAddClientUpstream(string name, ProxyOptions settings)
    {
        lock (_reloadLock)
        {
            var current = _snapshot;
            if (HardenedUpstream.TryFind(current.All, name, out var existing))
            {
                return existing;
            }

            var created = CreateUpstream(name, settings);
            var all = new HardenedUpstream[current.All.Length + 1];
            current.All.CopyTo(all, 0);
            all[^1] = created;
            Array.Sort(all, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            _snapshot = new Snapshot(all, current.Routes, current.ClientOnly.Add(name));
            return created;
        }
    }

    internal void Reload()
    {
        HardenedProxyOptions fresh;
        try
        {
            fresh = _optionsFactory!.Create(Options.DefaultName);
        }
        catch (OptionsValidationException ex)
        {
            Log.ConfigurationRejected(_logger, string.Join(" ", ex.Failures));
            return;
        }
#pragma warning disable CA1031 // a reload must never take the gateway down; the old settings keep serving
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // A binding failure's own message is generic; the key and value are in the inner exceptions.
            Log.ConfigurationRejected(_logger, MessageChain(ex));
            return;
        }

        CancellationTokenSource previousTokenSource;
        lock (_reloadLock)
        {
            var previous = _snapshot;
            _snapshot = Build(fresh, previous);
            foreach (var old in previous.All)
            {
                if (!HardenedUpstream.TryFind(_snapshot.All, old.Name, out _))
                {
                    _metrics.RemoveProxy(old.Name);
                }
            }

            previousTokenSource = _changeTokenSource;
            _changeTokenSource = new CancellationTokenSource();
        }

        Log.ConfigurationReloaded(_logger, _snapshot.Routes.Length);
        if (!SameTransport(fresh.Transport, Transport))
        {
            // The one shared handler is built at start-up; swapping it under live connections is not worth the risk.
            Log.TransportChangeNeedsRestart(_logger);
        }

        previousTokenSource.Cancel();
        previousTokenSource.Dispose();
    }

    private static string MessageChain(Exception error)
    {
        var message = error.Message;
        for (var inner = error.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += " " + inner.Message;
        }

        return message;
    }

    private Snapshot Build(HardenedProxyOptions options, Snapshot previous)
    {
        var all = new List<HardenedUpstream>(options.Proxies.Count + previous.ClientOnly.Count);
        foreach (var (name, settings) in options.Proxies)
        {
            if (HardenedUpstream.TryFind(previous.All, name, out var existing) && existing.HasSameSettings(settings, Transport))
            {
                all.Add(existing);
            }
            else
            {
                all.Add(CreateUpstream(name, settings));
            }
        }

        foreach (var name in previous.ClientOnly)
        {
            if (!options.Proxies.ContainsKey(name) && HardenedUpstream.TryFind(previous.All, name, out var clientOnly))
            {
                all.Add(clientOnly);
            }
        }

        all.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var routes = all.FindAll(static u => u.PathPrefix is not null);
        routes.Sort(static (a, b) => b.PathPrefix!.Length.CompareTo(a.PathPrefix!.Length));
        return new Snapshot([.. all], [.. routes], previous.ClientOnly);
    }

    private static bool SameTransport(TransportOptions a, TransportOptions b) =>
        a.DialTimeout == b.DialTimeout && a.TlsHandshakeTimeout == b.TlsHandshakeTimeout && a.KeepAlive == b.KeepAlive &&
        a.ResponseHeaderTimeout == b.ResponseHeaderTimeout && a.IdleConnectionTimeout == b.IdleConnectionTimeout &&
        a.ExpectContinueTimeout == b.ExpectContinueTimeout && a.PooledConnectionLifetime == b.PooledConnectionLifetime &&
        a.EnableHttp2 == b.EnableHttp2 && a.UseSystemProxy == b.UseSystemProxy;

    private HardenedUpstream CreateUpstream(string name, ProxyOptions settings)
    {
        var upstream = new HardenedUpstream(name, settings, Transport, _metrics, _timeProvider, _gates);
        if (upstream.CircuitBreaker is { } breaker)
        {
            breaker.StateChanged += (_, change) => Log.CircuitStateChanged(_logger, name, change.PreviousState, change.NewState);
        }

        if (upstream.Limiter?.Adaptive is { } adaptive)
        {
            adaptive.LimitChanged = change =>
            {
                if (change.IsSignificant)
                {
                    var reason = ReasonText(change.Reason);
                    Log.AdaptiveLimitChanged(_logger, name, change.PreviousLimit, change.NewLimit, change.BaselineSeconds * 1000, change.RecentSeconds * 1000, reason);
                }
            };
        }

        return upstream;
    }

    private static string ReasonText(Limiting.Adaptive.AdaptiveLimitReason reason) => reason switch
    {
        Limiting.Adaptive.AdaptiveLimitReason.Growth => "latency near the baseline with at least half the slots in use",
        Limiting.Adaptive.AdaptiveLimitReason.LatencyAboveTolerance => "latency above Tolerance times the baseline",
        Limiting.Adaptive.AdaptiveLimitReason.LatencyAboveTarget => "latency above LatencyTarget",
        Limiting.Adaptive.AdaptiveLimitReason.UpstreamFailure => "upstream failure",
        _ => "baseline probe at the estimated capacity",
    };

    private sealed record Snapshot(HardenedUpstream[] All, HardenedUpstream[] Routes, System.Collections.Immutable.ImmutableHashSet<string> ClientOnly)
    {
        public static readonly Snapshot Empty = new([], [], System.Collections.Immutable.ImmutableHashSet.Create<string>(StringComparer.OrdinalIgnoreCase));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.CircuitStateChanged, Level = LogLevel.Warning, Message = "Circuit breaker of proxy {ProxyName} changed from {PreviousState} to {CircuitState}.")]
        public static partial void CircuitStateChanged(ILogger logger, string proxyName, CircuitState previousState, CircuitState circuitState);

        [LoggerMessage(EventId = EventIds.AdaptiveLimitChanged, Level = LogLevel.Information, Message = "Adaptive concurrency limit of proxy {ProxyName} changed from {PreviousLimit} to {ConcurrencyLimit}: {Reason} (baseline {BaselineMs:0.###} ms, recent {RecentMs:0.###} ms).")]
        public static partial void AdaptiveLimitChanged(ILogger logger, string proxyName, int previousLimit, int concurrencyLimit, double baselineMs, double recentMs, string reason);

        [LoggerMessage(EventId = EventIds.ConfigurationReloaded, Level = LogLevel.Information, Message = "HardenedGateway configuration reloaded: {ProxyCount} proxies.")]
        public static partial void ConfigurationReloaded(ILogger logger, int proxyCount);

        [LoggerMessage(EventId = EventIds.TransportChangeNeedsRestart, Level = LogLevel.Warning, Message = "HardenedGateway:Transport settings changed; the shared transport is built at start-up, so they apply after a restart. Proxy settings were reloaded.")]
        public static partial void TransportChangeNeedsRestart(ILogger logger);

        [LoggerMessage(EventId = EventIds.ConfigurationRejected, Level = LogLevel.Error, Message = "HardenedGateway configuration reload rejected; the previous settings keep serving. {Failures}")]
        public static partial void ConfigurationRejected(ILogger logger, string failures);
    }
}
