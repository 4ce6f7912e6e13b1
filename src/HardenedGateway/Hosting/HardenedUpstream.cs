using System.Diagnostics.CodeAnalysis;

namespace HardenedGateway;

/// <summary>
/// One named upstream at run time: its limiter, breaker and metric series, shared by its proxy route
/// and by every typed <see cref="HttpClient"/> that joins it. Obtained from <see cref="HardenedProxyRegistry"/>.
/// </summary>
/// <remarks>
/// An instance is immutable apart from the state of its limiter and breaker. A configuration reload
/// that changes a proxy's settings replaces its instance; requests in flight finish on the instance
/// they started with.
/// </remarks>
public sealed class HardenedUpstream
{
    internal HardenedUpstream(string name, ProxyOptions settings, TransportOptions transport, MetricsCollector metrics, TimeProvider timeProvider, IAdmissionGateProvider? gates = null)
    {
        Name = name;
        Settings = settings.Clone();
        PathPrefix = Settings.PathPrefix;
        BaseAddress = Settings.Upstream is null ? null : new Uri(Settings.Upstream, UriKind.Absolute);
        BaseAddressString = Settings.Upstream ?? string.Empty;
        Targets = new Forwarding.TargetCache(BaseAddressString);
        ResponseHeaderTimeout = Settings.ResponseHeaderTimeout ?? transport.ResponseHeaderTimeout;
        Limiter = Settings.AdaptiveConcurrency.Enabled
            ? new ConcurrencyLimiter(Settings.AdaptiveConcurrency, timeProvider)
            : Settings.MaxConcurrent > 0 ? new ConcurrencyLimiter(Settings.MaxConcurrent, timeProvider) : null;
        CircuitBreaker = Settings.CircuitBreaker.Enabled ? new CircuitBreaker(Settings.CircuitBreaker, timeProvider) : null;
        RetryAfterHeaderValue = Forwarding.ProblemResponses.Seconds(Settings.RetryAfterSeconds);
        UseHttp2 = transport.EnableHttp2 && BaseAddress is { Scheme: "https" };
        AdmissionGate = gates?.GetGate(this);
        Metrics = metrics.ForProxyWithGate(name, Limiter, CircuitBreaker, AdmissionGate);
    }

    /// <summary>Gets the upstream's name, as configured under <c>HardenedGateway:Proxies</c>.</summary>
    public string Name { get; }

    /// <summary>Gets the path prefix its proxy route serves, or <see langword="null"/> for an upstream reached only by typed clients.</summary>
    public string? PathPrefix { get; }

    /// <summary>Gets the upstream's base URI, or <see langword="null"/> for a client-only upstream without one.</summary>
    public Uri? BaseAddress { get; }

    /// <summary>
    /// Gets the concurrency limiter, or <see langword="null"/> when <see cref="ProxyOptions.MaxConcurrent"/> is 0 and
    /// <see cref="ProxyOptions.AdaptiveConcurrency"/> is off. With adaptive concurrency its limit moves by itself.
    /// </summary>
    public ConcurrencyLimiter? Limiter { get; }

    /// <summary>Gets the circuit breaker, or <see langword="null"/> when it is not enabled.</summary>
    public CircuitBreaker? CircuitBreaker { get; }

    /// <summary>Gets the second admission step after the local limiter (a cluster-wide budget), or <see langword="null"/> when there is none.</summary>
    public IAdmissionGate? AdmissionGate { get; }

    /// <summary>Gets the upstream's metric series.</summary>
    public ProxyMetrics Metrics { get; }

    /// <summary>Gets a copy of the settings this instance was built from.</summary>
    public ProxyOptions Settings { get; }

    internal string BaseAddressString { get; }

    /// <summary>The targets of this proxy's hot paths, each built once (string and <see cref="Uri"/>).</summary>
    internal Forwarding.TargetCache Targets { get; }

    internal TimeSpan ResponseHeaderTimeout { get; }

    internal string RetryAfterHeaderValue { get; }

    internal bool UseHttp2 { get; }

    internal bool HasSameSettings(ProxyOptions other, TransportOptions transport) =>
        string.Equals(Settings.PathPrefix, other.PathPrefix, StringComparison.Ordinal) &&
        string.Equals(Settings.Upstream, other.Upstream, StringComparison.Ordinal) &&
        ResponseHeaderTimeout == (other.ResponseHeaderTimeout ?? transport.ResponseHeaderTimeout) &&
        Settings.StreamIdleTimeout == other.StreamIdleTimeout &&
        Settings.MaxConcurrent == other.MaxConcurrent &&
        Settings.QueueTimeout == other.QueueTimeout &&
        Settings.RetryAfterSeconds == other.RetryAfterSeconds &&
        UseHttp2 == (transport.EnableHttp2 && BaseAddress is { Scheme: "https" }) &&
        Settings.CircuitBreaker.SameAs(other.CircuitBreaker) &&
        Settings.Cluster.SameAs(other.Cluster) &&
        Settings.WebSockets.SameAs(other.WebSockets) &&
        Settings.AdaptiveConcurrency.SameAs(other.AdaptiveConcurrency);

    /// <summary>Gets the whole seconds to send in <c>Retry-After</c> with a circuit rejection: until half-open, rounded up, at least 1.</summary>
    internal int CircuitRetryAfterSeconds()
    {
        var remaining = CircuitBreaker?.RetryAfter ?? TimeSpan.Zero;
        var seconds = (int)Math.Ceiling(remaining.TotalSeconds);
        return seconds < 1 ? 1 : seconds;
    }

    /// <summary>Looks a name up in a list; used by the registry.</summary>
    internal static bool TryFind(HardenedUpstream[] upstreams, string name, [NotNullWhen(true)] out HardenedUpstream? upstream)
    {
        foreach (var candidate in upstreams)
        {
            if (string.Equals(candidate.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                upstream = candidate;
                return true;
            }
        }

        upstream = null;
        return false;
    }
}
