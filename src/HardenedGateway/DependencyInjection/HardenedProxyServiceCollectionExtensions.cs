using System.Diagnostics.Metrics;
using HardenedGateway;
using HardenedGateway.Forwarding;
using HardenedGateway.Hosting;
using HardenedGateway.Transport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers HardenedGateway's reverse proxy.</summary>
public static class HardenedProxyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the hardened reverse proxy, configured from the app's configuration section
    /// <c>HardenedGateway</c>, and reloaded when that configuration changes.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks>
    /// The proxy routes are mapped automatically ahead of the app's own middleware; set
    /// <c>HardenedGateway:AutoMapProxies</c> to <see langword="false"/> and call
    /// <c>app.MapHardenedProxies()</c> to place them yourself. Every setting is validated at start-up:
    /// a bad value stops the app with a message naming the key, the value and the allowed range.
    /// </remarks>
    public static IServiceCollection AddHardenedProxy(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<HardenedProxyOptions>()
            .Configure<IConfiguration>(static (options, configuration) => BindStrictly(configuration.GetSection(HardenedProxyOptions.SectionName), options));
        services.TryAddSingleton(static sp => new ReloadSource(() => sp.GetRequiredService<IConfiguration>().GetSection(HardenedProxyOptions.SectionName).GetReloadToken()));
        return AddCore(services);
    }

    /// <summary>Adds the hardened reverse proxy, configured from <paramref name="configuration"/> (the <c>HardenedGateway</c> section) and reloaded when it changes.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The configuration section to bind, usually <c>builder.Configuration.GetSection("HardenedGateway")</c>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks><inheritdoc cref="AddHardenedProxy(IServiceCollection)" path="/remarks"/></remarks>
    public static IServiceCollection AddHardenedProxy(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        // Bound by a configure action rather than OptionsBuilder.Bind: the registry reloads and
        // validates itself, so a bad reload is rejected with a log instead of throwing on the
        // configuration's change-notification thread.
        services.AddOptions<HardenedProxyOptions>().Configure(options => BindStrictly(configuration, options));
        services.TryAddSingleton(new ReloadSource(configuration.GetReloadToken));
        return AddCore(services);
    }

    /// <summary>Adds the hardened reverse proxy, configured in code.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks><inheritdoc cref="AddHardenedProxy(IServiceCollection)" path="/remarks"/></remarks>
    public static IServiceCollection AddHardenedProxy(this IServiceCollection services, Action<HardenedProxyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<HardenedProxyOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>
    /// Binds so that a value that does not convert (<c>MaxConcurrent: "five"</c>) or a misspelt key
    /// stops start-up (or a reload) with a message naming the key, instead of the binder silently
    /// dropping the whole proxy.
    /// </summary>
    private static void BindStrictly(IConfiguration configuration, HardenedProxyOptions options)
    {
        var unknown = new List<string>();
        FindUnknownKeys(configuration, typeof(HardenedProxyOptions), unknown);
        if (unknown.Count > 0)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(HardenedProxyOptions), unknown);
        }

        try
        {
            configuration.Bind(options, static binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's outer message is generic; the key and value are in the inner exceptions.
            var messages = new List<string>();
            for (Exception? current = ex; current is not null; current = current.InnerException)
            {
                messages.Add(current.Message);
            }

            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(HardenedProxyOptions), [string.Join(" ", messages) + " (HardenedGateway binds strictly: fix the value or remove the unknown key.)"]);
        }
    }

    /// <summary>Names every key the options do not have, with its full path (the binder's own message names only the type).</summary>
    private static void FindUnknownKeys(IConfiguration section, Type type, List<string> unknown)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
            if (type == typeof(HardenedProxyOptions) && string.Equals(child.Key, HardenedProxyOptions.RedisSectionName, StringComparison.OrdinalIgnoreCase))
            {
                // Bound and validated by the HardenedGateway.Redis package (CL-001..CL-004), not by the core.
                continue;
            }

            if (property is null)
            {
                var path = child is IConfigurationSection childSection ? childSection.Path : child.Key;
                unknown.Add($"{path} is not a HardenedGateway setting; the settings here are: {KnownNames(type)}.");
            }
            else if (property.PropertyType == typeof(TransportOptions) || property.PropertyType == typeof(CircuitBreakerOptions) || property.PropertyType == typeof(ClusterOptions) || property.PropertyType == typeof(WebSocketTunnelOptions))
            {
                FindUnknownKeys(child, property.PropertyType, unknown);
            }
            else if (property.Name == nameof(HardenedProxyOptions.Proxies) && type == typeof(HardenedProxyOptions))
            {
                foreach (var proxy in child.GetChildren())
                {
                    FindUnknownKeys(proxy, typeof(ProxyOptions), unknown);
                }
            }
        }
    }

    private static string KnownNames(Type type)
    {
        var properties = type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance);
        var names = new string[properties.Length];
        for (var i = 0; i < properties.Length; i++)
        {
            names[i] = properties[i].Name;
        }

        return string.Join(", ", names);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions<HardenedProxyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HardenedProxyOptions>, HardenedProxyOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new BytesPool(
            BytesPool.DefaultMaxBuffers,
            sp.GetService<ILogger<BytesPool>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(static sp => new MetricsCollector(sp.GetService<IMeterFactory>(), sp.GetRequiredService<BytesPool>()));
        services.TryAddSingleton(static sp => new HardenedProxyRegistry(
            sp.GetRequiredService<IOptions<HardenedProxyOptions>>().Value,
            sp.GetRequiredService<MetricsCollector>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<HardenedProxyRegistry>>() ?? NullLogger<HardenedProxyRegistry>.Instance,
            sp.GetRequiredService<IOptionsFactory<HardenedProxyOptions>>(),
            sp.GetService<ReloadSource>() is { } reload ? reload.Produce : null,
            sp.GetService<IAdmissionGateProvider>()));
        services.TryAddSingleton(static sp => new SharedTransport(sp.GetRequiredService<HardenedProxyRegistry>().Transport));
        services.TryAddSingleton<RequestForwarder>();
        services.TryAddSingleton<ProxyPipeline>();
        services.TryAddSingleton<HardenedGateway.Tunnels.TunnelForwarder>();
        services.TryAddSingleton<ProxyRequestHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, HardenedProxyStartupFilter>());
        return services;
    }

    /// <summary>Produces the configuration change tokens the registry reloads on.</summary>
    internal sealed class ReloadSource(Func<IChangeToken> producer)
    {
        public IChangeToken? Produce() => producer();
    }
}
