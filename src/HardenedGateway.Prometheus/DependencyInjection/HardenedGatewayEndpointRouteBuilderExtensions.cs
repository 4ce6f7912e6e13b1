using HardenedGateway;
using HardenedGateway.Prometheus;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps HardenedGateway's metrics and admin endpoints and its status page (package <c>HardenedGateway.Prometheus</c>).</summary>
/// <remarks>
/// Both require authorization unless the app opts out explicitly: the policy named by
/// <see cref="HardenedGatewayPrometheusOptions.AuthorizationPolicy"/>, or the default policy when that is
/// <see langword="null"/>. A request without credentials gets 401, credentials without the policy 403.
/// To open an endpoint, set <see cref="HardenedGatewayPrometheusOptions.AllowAnonymous"/> or call
/// <c>.AllowAnonymous()</c> on the returned builder. The app needs authentication and authorization
/// services (<c>AddAuthentication</c>, <c>AddAuthorization</c>) and, when it places middleware itself,
/// <c>UseAuthentication()</c> and <c>UseAuthorization()</c>.
/// </remarks>
public static class HardenedGatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET {pattern}</c>: one Prometheus scrape (text format 0.0.4) of
    /// <see cref="HardenedGatewayPrometheusOptions.Registry"/>, holding the app's own prometheus-net series,
    /// the series of .NET's meters that prometheus-net exports, and the gateway's (FR-018).
    /// </summary>
    /// <param name="endpoints">The route builder (the app).</param>
    /// <param name="pattern">The route; the default is <c>/api/gateway/metrics</c>.</param>
    /// <returns>A builder for further conventions on the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddHardenedProxy</c> was not called. (<c>AddHardenedGatewayPrometheus</c> is optional: without it the defaults apply.)</exception>
    public static IEndpointConventionBuilder MapHardenedGatewayMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/api/gateway/metrics")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);

        var bridge = endpoints.ServiceProvider.GetService<PrometheusBridge>() ?? CreateBridgeForThisApp(endpoints.ServiceProvider);
        var builder = endpoints.MapGet(pattern, MetricsEndpoint.Create(bridge.Registry))
            .WithDisplayName("HardenedGateway metrics");
        return Secure(endpoints, builder);
    }

    /// <summary>
    /// Maps the admin endpoints under <paramref name="prefix"/>: <c>GET {prefix}/proxies</c> lists every
    /// proxy's breaker and limiter state as a JSON object keyed by proxy name;
    /// <c>POST {prefix}/proxies/{name}/reset</c> closes that proxy's circuit breaker (T028) and answers
    /// with its object, or 404 (<c>application/problem+json</c>) for an unknown name.
    /// </summary>
    /// <param name="endpoints">The route builder (the app).</param>
    /// <param name="prefix">The route prefix; the default is <c>/api/gateway</c>.</param>
    /// <returns>A builder for further conventions on both endpoints.</returns>
    /// <remarks>
    /// A proxy's object: <c>upstream</c> (its base URI), <c>circuitState</c> (<c>closed</c>, <c>open</c> or
    /// <c>half-open</c>; <c>closed</c> without a breaker), <c>consecutiveFailures</c>, <c>retryAfterSeconds</c>
    /// (while open: whole seconds until half-open, rounded up; otherwise <see langword="null"/>), and
    /// <c>concurrencyLimit</c>, <c>concurrencyAvailable</c>, <c>queueLength</c> (<see langword="null"/> without a limiter).
    /// </remarks>
    /// <exception cref="InvalidOperationException"><c>AddHardenedProxy</c> was not called.</exception>
    public static IEndpointConventionBuilder MapHardenedGatewayAdmin(this IEndpointRouteBuilder endpoints, string prefix = "/api/gateway")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);

        var registry = endpoints.ServiceProvider.GetService<HardenedProxyRegistry>()
            ?? throw new InvalidOperationException("MapHardenedGatewayAdmin needs the proxy services: call builder.Services.AddHardenedProxy(...) first.");
        var group = endpoints.MapGroup(prefix);
        group.MapGet("/proxies", AdminEndpoints.List(registry))
            .WithDisplayName("HardenedGateway admin: proxies");
        group.MapPost("/proxies/{" + AdminEndpoints.NameRouteValue + "}/reset", AdminEndpoints.Reset(registry))
            .WithDisplayName("HardenedGateway admin: reset breaker");
        return Secure(endpoints, group);
    }

    /// <summary>
    /// Maps the live status page: <c>GET {pattern}</c> serves one self-contained HTML page (inline style and
    /// script; nothing is loaded from any other server, so it works on an air-gapped network) that shows every
    /// proxy live, fed by <c>GET {pattern}/events</c>: server-sent events, one JSON snapshot a second.
    /// </summary>
    /// <param name="endpoints">The route builder (the app).</param>
    /// <param name="pattern">The page's route; the default is <c>/api/gateway/status</c>.</param>
    /// <param name="adminPrefix">Where <see cref="MapHardenedGatewayAdmin"/> is mapped: the page's reset button posts to
    /// <c>{adminPrefix}/proxies/{name}/reset</c>. The default is <c>/api/gateway</c>.</param>
    /// <returns>A builder for further conventions on both endpoints.</returns>
    /// <remarks>
    /// <para>
    /// The events endpoint is secured like the admin endpoints (<see cref="HardenedGatewayPrometheusOptions.AuthorizationPolicy"/>,
    /// 401 without credentials, 403 without the policy). The page itself holds no data and is served to anyone,
    /// since a browser cannot send an <c>Authorization</c> header when it navigates: it asks for a token, keeps it
    /// in the tab's <c>sessionStorage</c>, and reads the events with <c>fetch</c>, sending
    /// <c>Authorization: Bearer &lt;token&gt;</c>. It is served with a Content-Security-Policy that admits only its
    /// own inline style and script and connections to its own origin.
    /// </para>
    /// <para>
    /// Each event is <c>{"sequence", "time", "intervalSeconds", "windowSeconds", "proxies": {name: object}}</c>,
    /// where a proxy's object is its admin object (see <see cref="MapHardenedGatewayAdmin"/>) plus <c>inFlight</c>,
    /// <c>requestsPerSecond</c>, <c>status429PerSecond</c>, <c>status503PerSecond</c>, <c>status5xxPerSecond</c>,
    /// <c>p50Seconds</c>, <c>p99Seconds</c> (over the last 10 s, from the request-duration histogram's buckets) and
    /// <c>loadHistory</c> (requests/s of each of the last 30 s, oldest first). The snapshot is computed once per
    /// second for all viewers together, and only while at least one is connected.
    /// </para>
    /// </remarks>
    /// <exception cref="InvalidOperationException"><c>AddHardenedProxy</c> was not called.</exception>
    public static IEndpointConventionBuilder MapHardenedGatewayStatusPage(this IEndpointRouteBuilder endpoints, string pattern = "/api/gateway/status", string adminPrefix = "/api/gateway")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentNullException.ThrowIfNull(adminPrefix);

        var services = endpoints.ServiceProvider;
        var registry = services.GetService<HardenedProxyRegistry>()
            ?? throw new InvalidOperationException("MapHardenedGatewayStatusPage needs the proxy services: call builder.Services.AddHardenedProxy(...) first.");
        var lifetime = services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        var producer = new StatusSnapshotProducer(registry, services.GetService<TimeProvider>() ?? TimeProvider.System, StatusSnapshotProducer.DefaultInterval);
        lifetime.ApplicationStopped.Register(producer.Dispose);

        var group = endpoints.MapGroup(pattern);
        group.MapGet(string.Empty, StatusEndpoints.Page(StatusPageDocument.Load(), pattern, adminPrefix))
            .WithDisplayName("HardenedGateway status page")
            .AllowAnonymous();
        Secure(endpoints, group.MapGet("/events", StatusEndpoints.Events(producer, lifetime.ApplicationStopping))
            .WithDisplayName("HardenedGateway status events"));
        return group;
    }

    /// <summary>
    /// Without <c>AddHardenedGatewayPrometheus()</c>, the metrics endpoint still works with the defaults:
    /// the bridge is created here (before the app serves requests) and disposed when the app stops.
    /// </summary>
    private static PrometheusBridge CreateBridgeForThisApp(IServiceProvider services)
    {
        var collector = services.GetService<MetricsCollector>()
            ?? throw new InvalidOperationException("MapHardenedGatewayMetrics needs the gateway's services: call builder.Services.AddHardenedProxy(...) first.");
        global::Prometheus.Metrics.ConfigureMeterAdapter(static adapter => adapter.ExcludeHardenedGateway());
        var bridge = new PrometheusBridge(collector, Options.Create(new HardenedGatewayPrometheusOptions()), services.GetService<System.Diagnostics.Metrics.IMeterFactory>());
        services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopped.Register(bridge.Dispose);
        return bridge;
    }

    private static IEndpointConventionBuilder Secure(IEndpointRouteBuilder endpoints, IEndpointConventionBuilder builder)
    {
        var options = endpoints.ServiceProvider.GetService<IOptions<HardenedGatewayPrometheusOptions>>()?.Value ?? new HardenedGatewayPrometheusOptions();
        if (options.AllowAnonymous)
        {
            return builder.AllowAnonymous();
        }

        return options.AuthorizationPolicy is { } policy
            ? builder.RequireAuthorization(policy)
            : builder.RequireAuthorization();
    }
}
