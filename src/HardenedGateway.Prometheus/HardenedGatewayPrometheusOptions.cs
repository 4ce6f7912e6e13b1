using Prometheus;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus;

/// <summary>
/// Options of the HardenedGateway Prometheus package: where the gateway's series are published, and
/// who may read the metrics and admin endpoints. Set them with
/// <c>builder.Services.AddHardenedGatewayPrometheus(options => ...)</c>.
/// </summary>
public sealed class HardenedGatewayPrometheusOptions
{
    /// <summary>Gets or sets the name of the authorization policy the metrics and admin endpoints require.</summary>
    /// <value>The default is <see langword="null"/>: the app's default authorization policy (by default, any authenticated user).</value>
    /// <remarks>The endpoints answer 401 to a request without credentials and 403 to credentials that do not satisfy the policy.</remarks>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>Gets or sets a value indicating whether the metrics and admin endpoints are mapped without any authorization.</summary>
    /// <value>The default is <see langword="false"/>: the endpoints require <see cref="AuthorizationPolicy"/>.</value>
    /// <remarks>
    /// Opting out is always explicit: set this, or call <c>.AllowAnonymous()</c> on the builder one of
    /// the <c>MapHardenedGateway…</c> methods returns (for example to open only the metrics endpoint to a
    /// scraper inside a private network). The admin endpoint can reset circuit breakers; keep it protected.
    /// </remarks>
    public bool AllowAnonymous { get; set; }

    /// <summary>Gets or sets the prometheus-net registry the gateway's series are published in, and the metrics endpoint serves.</summary>
    /// <value>The default is <see cref="PrometheusMetrics.DefaultRegistry"/>, the registry of the app's own prometheus-net metrics,
    /// so one scrape holds both.</value>
    /// <remarks>One gateway (one service provider) publishes into a registry; two gateways in one process need two registries.</remarks>
    public CollectorRegistry Registry { get; set; } = PrometheusMetrics.DefaultRegistry;
}
