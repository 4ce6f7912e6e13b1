using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HardenedGateway.Diagnostics;

/// <summary>
/// Reports the gateway degraded while any circuit breaker is open or half-open, or a proxy's cluster
/// budget falls back to its local limit (CL-002), naming those proxies in the description and in the
/// data (proxy name → <c>open</c>, <c>half-open</c> or <c>cluster-degraded</c>); healthy otherwise.
/// </summary>
/// <remarks>An open breaker is the gateway doing its job for a failing upstream, not the app failing, hence
/// degraded rather than unhealthy by default (the registration's failure status overrides it).</remarks>
internal sealed class HardenedGatewayHealthCheck(HardenedProxyRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);

        Dictionary<string, object>? tripped = null;
        var upstreams = registry.Upstreams;
        foreach (var upstream in upstreams)
        {
            var state = upstream.CircuitBreaker?.State ?? CircuitState.Closed;
            if (state != CircuitState.Closed)
            {
                tripped ??= new Dictionary<string, object>(StringComparer.Ordinal);
                tripped[upstream.Name] = state == CircuitState.Open ? "open" : "half-open";
            }
            else if (upstream.AdmissionGate is { IsDegraded: true })
            {
                // CL-002: the cluster coordinator (Redis) is away; the proxy runs on its local limit alone.
                tripped ??= new Dictionary<string, object>(StringComparer.Ordinal);
                tripped[upstream.Name] = "cluster-degraded";
            }
        }

        if (tripped is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"Every circuit breaker is closed ({upstreams.Count} proxies)."));
        }

        var names = string.Join(", ", tripped.Where(static entry => !Equals(entry.Value, "cluster-degraded")).Select(static entry => $"{entry.Key} ({entry.Value})"));
        var degraded = string.Join(", ", tripped.Where(static entry => Equals(entry.Value, "cluster-degraded")).Select(static entry => entry.Key));
        var description = names.Length == 0 ? string.Empty : $"Circuit breaker not closed for: {names}.";
        if (degraded.Length > 0)
        {
            description += (description.Length == 0 ? string.Empty : " ") + $"Cluster budget unavailable, local limits only, for: {degraded}.";
        }

        return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, description, data: tripped));
    }
}
