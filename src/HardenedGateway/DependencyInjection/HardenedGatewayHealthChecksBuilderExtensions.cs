using HardenedGateway;
using HardenedGateway.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds HardenedGateway's health check.</summary>
public static class HardenedGatewayHealthChecksBuilderExtensions
{
    /// <summary>The default name of the check: <c>hardened_gateway</c>.</summary>
    public const string DefaultName = "hardened_gateway";

    /// <summary>
    /// Adds a check that reports <see cref="HealthStatus.Degraded"/> (or <paramref name="failureStatus"/>) while
    /// any proxy's circuit breaker is open or half-open, naming those proxies in the description and in the
    /// data (proxy name → <c>open</c> or <c>half-open</c>), and <see cref="HealthStatus.Healthy"/> otherwise.
    /// </summary>
    /// <param name="builder">The health checks builder: <c>builder.Services.AddHealthChecks()</c>.</param>
    /// <param name="name">The check's name; the default is <see cref="DefaultName"/>.</param>
    /// <param name="failureStatus">The status while a breaker is not closed; <see langword="null"/> means <see cref="HealthStatus.Degraded"/>.</param>
    /// <param name="tags">Tags to filter checks by, for example in <c>MapHealthChecks</c>; optional.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <remarks>Needs <c>AddHardenedProxy</c>. An open breaker protects the app from a failing upstream, so
    /// the default status is degraded, not unhealthy: a liveness probe should not restart the app for it.</remarks>
    public static IHealthChecksBuilder AddHardenedGateway(
        this IHealthChecksBuilder builder,
        string name = DefaultName,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);

        return builder.Add(new HealthCheckRegistration(
            name,
            static services => new HardenedGatewayHealthCheck(services.GetRequiredService<HardenedProxyRegistry>()),
            failureStatus ?? HealthStatus.Degraded,
            tags));
    }
}
