using HardenedGateway.Prometheus;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the HardenedGateway Prometheus integration.</summary>
public static class HardenedGatewayPrometheusServiceCollectionExtensions
{
    /// <summary>
    /// Publishes the gateway's metrics into prometheus-net (by default into <see cref="Metrics.DefaultRegistry"/>,
    /// next to the app's own series) with the names, types and buckets of the gateway's own Prometheus
    /// text, and configures the secured endpoints of <c>app.MapHardenedGatewayMetrics()</c> and
    /// <c>app.MapHardenedGatewayAdmin()</c>.
    /// </summary>
    /// <param name="services">The services; <c>AddHardenedProxy</c> must be called too.</param>
    /// <param name="configure">Sets the options, for example <c>options.AuthorizationPolicy = "superuser"</c>; optional.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks>
    /// <para>
    /// The series are copied from the gateway's <see cref="System.Diagnostics.Metrics.Meter"/> (named
    /// <see cref="HardenedGateway.MetricsCollector.MeterName"/>) by a listener that starts with the app, before it serves
    /// any request: counters and histograms as they are recorded (the histograms with
    /// <see cref="HardenedGateway.MetricsCollector.DurationBucketBoundaries"/>), gauges when the registry is collected.
    /// </para>
    /// <para>
    /// prometheus-net's default meter adapter exports every .NET meter, which would publish the gateway's
    /// series a second time (as gauges, with other buckets). This method therefore calls
    /// <see cref="Metrics.ConfigureMeterAdapter"/> to leave the gateway's meter out; that replaces any callback an app
    /// passed to it before. An app that configures the adapter itself does so after this call and adds
    /// <see cref="HardenedGatewayMeterAdapterOptionsExtensions.ExcludeHardenedGateway"/> to its callback. The adapter
    /// keeps exporting .NET's own meters (<c>System.Net.Http</c>, Kestrel), so the gateway publishes no
    /// connection-pool or per-authority series of its own.
    /// </para>
    /// </remarks>
    public static IServiceCollection AddHardenedGatewayPrometheus(this IServiceCollection services, Action<HardenedGatewayPrometheusOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<HardenedGatewayPrometheusOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        Metrics.ConfigureMeterAdapter(static adapter => adapter.ExcludeHardenedGateway());

        services.TryAddSingleton<PrometheusBridge>();
        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, PrometheusBridgeStartupFilter>());
        return services;
    }
}
