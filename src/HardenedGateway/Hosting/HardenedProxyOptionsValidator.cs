using System.Globalization;
using Microsoft.Extensions.Options;
using static HardenedGateway.Hosting.OptionsChecks;

namespace HardenedGateway.Hosting;

/// <summary>
/// Validates <see cref="HardenedProxyOptions"/> at start-up and on every reload. Each failure names the
/// configuration key, the value and the allowed range, so a bad deployment stops with a clear message.
/// </summary>
internal sealed class HardenedProxyOptionsValidator : IValidateOptions<HardenedProxyOptions>
{
    private const string Root = HardenedProxyOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, HardenedProxyOptions options)
    {
        var failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static List<string> Collect(HardenedProxyOptions options)
    {
        var failures = new List<string>();
        if (options.Transport is not { } transport)
        {
            failures.Add($"{Root}:Transport is required.");
        }
        else
        {
            CheckDuration(failures, $"{Root}:Transport:DialTimeout", transport.DialTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5), "1 ms .. 5 min");
            CheckDuration(failures, $"{Root}:Transport:TlsHandshakeTimeout", transport.TlsHandshakeTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5), "1 ms .. 5 min");
            CheckDuration(failures, $"{Root}:Transport:KeepAlive", transport.KeepAlive, TimeSpan.FromSeconds(1), TimeSpan.FromHours(2), "1 s .. 2 h");
            CheckDuration(failures, $"{Root}:Transport:ResponseHeaderTimeout", transport.ResponseHeaderTimeout, TimeSpan.Zero, TimeSpan.FromHours(24), "0 (no limit) .. 24 h");
            CheckDuration(failures, $"{Root}:Transport:IdleConnectionTimeout", transport.IdleConnectionTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(24), "1 s .. 24 h");
            CheckDuration(failures, $"{Root}:Transport:ExpectContinueTimeout", transport.ExpectContinueTimeout, TimeSpan.Zero, TimeSpan.FromMinutes(1), "0 .. 1 min");
            CheckDuration(failures, $"{Root}:Transport:PooledConnectionLifetime", transport.PooledConnectionLifetime, TimeSpan.FromSeconds(1), TimeSpan.FromHours(24), "1 s .. 24 h");
        }

        var prefixes = new List<(string Name, string Prefix)>();
        foreach (var (proxyName, proxy) in options.Proxies)
        {
            var key = $"{Root}:Proxies:{proxyName}";
            if (!IsValidName(proxyName))
            {
                failures.Add($"{Root}:Proxies has the proxy name '{proxyName}'; a proxy name must be 1 to 64 letters, digits, '-' or '_'.");
            }

            if (proxy is null)
            {
                failures.Add($"{key} is empty; it needs at least PathPrefix and Upstream.");
                continue;
            }

            CheckPathPrefix(failures, key, proxy.PathPrefix, proxyName, prefixes);
            CheckUpstream(failures, $"{key}:Upstream", proxy.Upstream);
            CheckLimits(failures, key, proxy);
        }

        return failures;
    }

    /// <summary>Validates an upstream reached only from typed clients: no route, and the upstream URI is optional.</summary>
    internal static List<string> CollectClientOnly(string proxyName, ProxyOptions proxy)
    {
        var failures = new List<string>();
        var key = $"{Root}:Proxies:{proxyName}";
        if (!IsValidName(proxyName))
        {
            failures.Add($"The upstream name '{proxyName}' is invalid; a name must be 1 to 64 letters, digits, '-' or '_'.");
        }

        if (proxy.Upstream is not null)
        {
            CheckUpstream(failures, $"{key}:Upstream", proxy.Upstream);
        }

        CheckLimits(failures, key, proxy);
        return failures;
    }

    private static void CheckLimits(List<string> failures, string key, ProxyOptions proxy)
    {
        if (proxy.ResponseHeaderTimeout is { } headerTimeout)
        {
            CheckDuration(failures, $"{key}:ResponseHeaderTimeout", headerTimeout, TimeSpan.Zero, TimeSpan.FromHours(24), "0 (no limit) .. 24 h");
        }

        CheckDuration(failures, $"{key}:StreamIdleTimeout", proxy.StreamIdleTimeout, TimeSpan.Zero, TimeSpan.FromHours(24), "0 (off) .. 24 h");
        CheckRange(failures, $"{key}:MaxConcurrent", proxy.MaxConcurrent, 0, 100_000, "0 (no limiter) .. 100000");
        CheckDuration(failures, $"{key}:QueueTimeout", proxy.QueueTimeout, TimeSpan.Zero, TimeSpan.FromMinutes(10), "0 (reject at once) .. 10 min");
        CheckRange(failures, $"{key}:RetryAfterSeconds", proxy.RetryAfterSeconds, 1, 3600, "1 .. 3600");
        if (proxy.CircuitBreaker is not { } breaker)
        {
            failures.Add($"{key}:CircuitBreaker must not be null.");
        }
        else
        {
            CheckRange(failures, $"{key}:CircuitBreaker:FailureThreshold", breaker.FailureThreshold, 1, 10_000, "1 .. 10000 consecutive failures");
            CheckDuration(failures, $"{key}:CircuitBreaker:RecoveryTimeout", breaker.RecoveryTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(24), "1 ms .. 24 h");
            CheckRange(failures, $"{key}:CircuitBreaker:HalfOpenRequests", breaker.HalfOpenRequests, 1, 1000, "1 .. 1000");
        }

        CheckCluster(failures, key, proxy);
        if (proxy.WebSockets is not { } webSockets)
        {
            failures.Add($"{key}:WebSockets must not be null.");
        }
        else
        {
            CheckRange(failures, $"{key}:WebSockets:MaxConnections", webSockets.MaxConnections, 1, 100_000, "1 .. 100000 open tunnels");
            CheckDuration(failures, $"{key}:WebSockets:IdleTimeout", webSockets.IdleTimeout, TimeSpan.Zero, TimeSpan.FromHours(24), "0 (off) .. 24 h");
            CheckDuration(failures, $"{key}:WebSockets:MaxLifetime", webSockets.MaxLifetime, TimeSpan.Zero, TimeSpan.FromDays(7), "0 (off) .. 7 days");
        }
        CheckAdaptiveConcurrency(failures, key, proxy);
    }

    private static void CheckAdaptiveConcurrency(List<string> failures, string proxyKey, ProxyOptions proxy)
    {
        var key = proxyKey + ":AdaptiveConcurrency";
        if (proxy.AdaptiveConcurrency is not { } adaptive)
        {
            failures.Add($"{key} must not be null.");
            return;
        }

        if (adaptive.Enabled && proxy.MaxConcurrent != 0)
        {
            failures.Add($"{key}:Enabled is true and {proxyKey}:MaxConcurrent is {proxy.MaxConcurrent.ToString(CultureInfo.InvariantCulture)}; an adaptive limit replaces the static one, so MaxConcurrent must be 0 or absent.");
        }

        CheckRange(failures, $"{key}:MinLimit", adaptive.MinLimit, 1, 10_000, "1 .. 10000");
        CheckRange(failures, $"{key}:MaxLimit", adaptive.MaxLimit, Math.Clamp(adaptive.MinLimit, 1, 10_000), 100_000, $"MinLimit ({adaptive.MinLimit.ToString(CultureInfo.InvariantCulture)}) .. 100000");
        if (adaptive.InitialLimit is { } initial)
        {
            CheckRange(failures, $"{key}:InitialLimit", initial, adaptive.MinLimit, adaptive.MaxLimit, $"MinLimit .. MaxLimit ({adaptive.MinLimit.ToString(CultureInfo.InvariantCulture)} .. {adaptive.MaxLimit.ToString(CultureInfo.InvariantCulture)})");
        }

        if (!(adaptive.Tolerance >= 1.1 && adaptive.Tolerance <= 10))
        {
            failures.Add($"{key}:Tolerance is {adaptive.Tolerance.ToString(CultureInfo.InvariantCulture)}; allowed: 1.1 .. 10 (a ratio to the no-load latency).");
        }

        CheckDuration(failures, $"{key}:LatencyTarget", adaptive.LatencyTarget, TimeSpan.Zero, TimeSpan.FromMinutes(10), "0 (off) .. 10 min");
    }

    /// <summary>CL-001: a cluster budget is a second gate after a local one, which protects the upstream while Redis is away.</summary>
    private static void CheckCluster(List<string> failures, string key, ProxyOptions proxy)
    {
        if (proxy.Cluster is not { } cluster)
        {
            failures.Add($"{key}:Cluster must not be null.");
            return;
        }

        CheckRange(failures, $"{key}:Cluster:MaxConcurrent", cluster.MaxConcurrent, 0, 100_000, "0 (no cluster budget) .. 100000");
        if (cluster.MaxConcurrent > 0 && !HasLocalLimit(proxy))
        {
            failures.Add($"{key}:Cluster:MaxConcurrent is {cluster.MaxConcurrent.ToString(CultureInfo.InvariantCulture)} but {key}:MaxConcurrent is {proxy.MaxConcurrent.ToString(CultureInfo.InvariantCulture)}; a cluster budget needs a local limit (MaxConcurrent above 0, the replica's fair share, or AdaptiveConcurrency:Enabled), which protects the upstream while Redis is unavailable.");
        }
    }

    /// <summary>Whether the proxy limits its own concurrency; the one place to extend when another local limiter (adaptive) exists.</summary>
    private static bool HasLocalLimit(ProxyOptions proxy) => proxy.MaxConcurrent > 0 || proxy.AdaptiveConcurrency is { Enabled: true };

    internal static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    private static void CheckPathPrefix(List<string> failures, string key, string? prefix, string proxyName, List<(string Name, string Prefix)> seen)
    {
        key += ":PathPrefix";
        if (string.IsNullOrEmpty(prefix))
        {
            failures.Add($"{key} is required: a path such as '/api/ai'.");
            return;
        }

        if (prefix[0] != '/' || prefix.Length < 2 || prefix[^1] == '/' || prefix.Contains('?', StringComparison.Ordinal) || prefix.Contains('#', StringComparison.Ordinal) || prefix.Contains("//", StringComparison.Ordinal))
        {
            failures.Add($"{key} is '{prefix}'; it must start with '/', not end with '/', and contain no '?', '#' or empty segment (for example '/api/ai').");
            return;
        }

        foreach (var (otherName, otherPrefix) in seen)
        {
            if (string.Equals(prefix, otherPrefix, StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"{key} is '{prefix}', the same as the prefix of proxy '{otherName}'; prefixes must be unique.");
            }
            else if (IsNested(prefix, otherPrefix) || IsNested(otherPrefix, prefix))
            {
                failures.Add($"{key} is '{prefix}', which overlaps the prefix '{otherPrefix}' of proxy '{otherName}'; one prefix must not be nested in another.");
            }
        }

        seen.Add((proxyName, prefix));
    }

    private static bool IsNested(string inner, string outer) =>
        inner.Length > outer.Length && inner.StartsWith(outer, StringComparison.OrdinalIgnoreCase) && inner[outer.Length] == '/';

    private static void CheckUpstream(List<string> failures, string key, string? upstream)
    {
        if (string.IsNullOrWhiteSpace(upstream))
        {
            failures.Add($"{key} is required: an absolute http or https URI such as 'http://127.0.0.1:8000/'.");
            return;
        }

        if (!Uri.TryCreate(upstream, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{key} is '{upstream}'; it must be an absolute http or https URI such as 'http://127.0.0.1:8000/'.");
            return;
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || upstream.Contains('#', StringComparison.Ordinal))
        {
            failures.Add($"{key} is '{upstream}'; it must not have a query or fragment.");
        }

        if (uri.UserInfo.Length > 0)
        {
            failures.Add($"{key} must not carry credentials (user info); set them as headers instead.");
        }
    }
}
