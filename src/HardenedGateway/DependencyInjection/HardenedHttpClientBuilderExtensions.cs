using HardenedGateway;
using HardenedGateway.Http;
using HardenedGateway.Transport;
using Microsoft.Extensions.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds HardenedGateway's protection to typed and named <see cref="HttpClient"/>s.</summary>
/// <remarks>
/// <para>
/// The handler joins a named upstream: its concurrency limiter, circuit breaker, response-header
/// timeout and metrics series are the very ones its proxy route uses, so an upstream has one
/// concurrency budget and one breaker however it is reached.
/// </para>
/// <para>
/// Rejections throw <see cref="UpstreamConcurrencyLimitException"/> or
/// <see cref="UpstreamCircuitOpenException"/>, both <see cref="UpstreamRejectedException"/> and so
/// <see cref="HttpRequestException"/>. The concurrency slot is held until the response content is read
/// to its end or disposed: dispose every <see cref="HttpResponseMessage"/>.
/// </para>
/// <para>
/// With <c>AddStandardResilienceHandler()</c> or Polly handlers, add the resilience handler first and
/// <c>AddHardenedHandler</c> after it, so the hardened handler sits inside: every retry attempt is then
/// one breaker sample and takes its own concurrency slot, and a rejection (an
/// <see cref="HttpRequestException"/>) is seen, and may be retried, by the outer policy.
/// </para>
/// <para>
/// The primary handler becomes a non-owning view of the shared hardened transport (dial timeout,
/// keep-alive, idle and lifetime bounds). An app that sets its own primary handler with
/// <c>ConfigurePrimaryHttpMessageHandler</c> keeps it, and loses those transport settings, but not
/// the limiter, breaker, response-header timeout or metrics.
/// </para>
/// </remarks>
public static class HardenedHttpClientBuilderExtensions
{
    /// <summary>Protects the client with the limiter, breaker and metrics of the configured upstream <paramref name="upstreamName"/> (<c>HardenedGateway:Proxies:&lt;name&gt;</c>).</summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="upstreamName">The name of a configured proxy.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="upstreamName"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">When the client is first created, if no upstream has that name.</exception>
    public static IHttpClientBuilder AddHardenedHandler(this IHttpClientBuilder builder, string upstreamName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(upstreamName);
        EnsureCoreServices(builder.Services);
        builder.AddHttpMessageHandler(sp =>
        {
            var registry = sp.GetRequiredService<HardenedProxyRegistry>();
            _ = Resolve(registry, upstreamName); // fail at client creation, not at the first call
            return new HardenedHttpHandler(() => Resolve(registry, upstreamName), sp.GetRequiredService<TimeProvider>());
        });
        UseSharedTransport(builder);
        return builder;
    }

    /// <summary>
    /// Protects the client with an upstream reached only from code, configured here (no proxy route).
    /// Clients that name the same upstream share it. If a configured proxy has that name, its settings win.
    /// </summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="upstreamName">The upstream's name (letters, digits, '-', '_'), used in metrics and logs.</param>
    /// <param name="configure">Sets the limiter, breaker and timeouts; <see cref="ProxyOptions.PathPrefix"/> is ignored.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <exception cref="ArgumentException">The name or a setting is invalid (the message names it).</exception>
    public static IHttpClientBuilder AddHardenedHandler(this IHttpClientBuilder builder, string upstreamName, Action<ProxyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(upstreamName);
        ArgumentNullException.ThrowIfNull(configure);
        var settings = new ProxyOptions();
        configure(settings);
        settings.PathPrefix = null;
        var failures = HardenedGateway.Hosting.HardenedProxyOptionsValidator.CollectClientOnly(upstreamName, settings);
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(configure));
        }

        EnsureCoreServices(builder.Services);
        builder.AddHttpMessageHandler(sp =>
        {
            var registry = sp.GetRequiredService<HardenedProxyRegistry>();
            var upstream = registry.GetOrAddClientUpstream(upstreamName, settings);
            return new HardenedHttpHandler(() => registry.TryGetUpstream(upstreamName, out var current) ? current : upstream, sp.GetRequiredService<TimeProvider>());
        });
        UseSharedTransport(builder);
        return builder;
    }

    private static HardenedUpstream Resolve(HardenedProxyRegistry registry, string upstreamName) =>
        registry.TryGetUpstream(upstreamName, out var upstream)
            ? upstream
            : throw new InvalidOperationException(
                $"No HardenedGateway upstream is named '{upstreamName}'. Configure HardenedGateway:Proxies:{upstreamName}, or call AddHardenedHandler(\"{upstreamName}\", options => ...) for an upstream reached only from code.");

    private static void EnsureCoreServices(IServiceCollection services)
    {
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(HardenedProxyRegistry))
            {
                return;
            }
        }

        services.AddHardenedProxy(static _ => { });
    }

    private static void UseSharedTransport(IHttpClientBuilder builder) =>
        builder.Services.Configure<HttpClientFactoryOptions>(builder.Name, static options =>
            // Inserted first, so an app's own ConfigurePrimaryHttpMessageHandler (which runs later) wins.
            options.HttpMessageHandlerBuilderActions.Insert(0, static handlerBuilder =>
                handlerBuilder.PrimaryHandler = new SharedTransportHandler(handlerBuilder.Services.GetRequiredService<SharedTransport>().Invoker)));
}
