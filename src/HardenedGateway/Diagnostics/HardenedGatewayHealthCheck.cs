using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HardenedGateway.Diagnostics;

/// <summary>
/// Reports the gateway degraded while any circuit breaker is open or half-open, naming those proxies
/// in the description and in the data (proxy name → <c>open</c> or <c>half-open</c>); healthy otherwise.
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
        }

        if (tripped is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"Every circuit breaker is closed ({upstreams.Count} proxies)."));
        }

        var names = string.Join(", ", tripped.Select(static entry => $"{entry.Key} ({entry.Value})"));
        return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"Circuit breaker not closed for: {names}.", data: tripped));
    }
}
