using HardenedGateway;
using HardenedGateway.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers HardenedGateway's cluster-wide budget and shared breaker on Redis.</summary>
public static class HardenedGatewayRedisServiceCollectionExtensions
{
    /// <summary>
    /// Coordinates the replicas of the app through Redis: each proxy with <c>Cluster:MaxConcurrent</c>
    /// shares one budget across all replicas, and each with <c>Cluster:ShareCircuitBreaker</c> one breaker
    /// verdict. Configured from <paramref name="configuration"/>, usually <c>builder.Configuration.GetSection("HardenedGateway:Redis")</c>.
    /// </summary>
    /// <param name="services">The services; <c>AddHardenedProxy</c> must be called too.</param>
    /// <param name="configuration">The section with <c>Configuration</c>, <c>KeyPrefix</c>, <c>OperationTimeout</c> and <c>LeaseTime</c>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks>
    /// <para>
    /// Every setting is validated at start-up; a bad value stops the app with a message naming the key,
    /// the value and the allowed range. Redis itself is not needed to start: while it is unavailable each
    /// proxy runs on its local limit and its own breaker, reports <c>Degraded</c> in the health check, and
    /// goes back to the shared budget by itself when Redis answers again.
    /// </para>
    /// <para>Admission: breaker → local limiter → cluster budget (one Redis round trip) → upstream → release (one more, not awaited).</para>
    /// </remarks>
    public static IServiceCollection AddHardenedGatewayRedis(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HardenedGatewayRedisOptions>().Bind(configuration, static binder => binder.ErrorOnUnknownConfiguration = true);
        return AddCore(services);
    }

    /// <summary>Coordinates the replicas of the app through Redis, configured in code.</summary>
    /// <param name="services">The services; <c>AddHardenedProxy</c> must be called too.</param>
    /// <param name="configure">Sets the options; <see cref="HardenedGatewayRedisOptions.Configuration"/> is required.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks><inheritdoc cref="AddHardenedGatewayRedis(IServiceCollection, IConfiguration)" path="/remarks"/></remarks>
    public static IServiceCollection AddHardenedGatewayRedis(this IServiceCollection services, Action<HardenedGatewayRedisOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<HardenedGatewayRedisOptions>().Configure(configure);
        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions<HardenedGatewayRedisOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HardenedGatewayRedisOptions>, HardenedGatewayRedisOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new RedisCoordinator(
            sp.GetRequiredService<IOptions<HardenedGatewayRedisOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<RedisCoordinator>>() ?? NullLogger<RedisCoordinator>.Instance));
        services.TryAddSingleton(static sp => new RedisClusterCoordinator(
            sp.GetRequiredService<RedisCoordinator>(),
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
        services.TryAddSingleton<IAdmissionGateProvider>(static sp => sp.GetRequiredService<RedisClusterCoordinator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisCoordinationService>());
        return services;
    }
}
