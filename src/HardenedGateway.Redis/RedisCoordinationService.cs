using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace HardenedGateway.Redis;

/// <summary>
/// Connects to Redis when the app starts (waiting at most a second: traffic never waits for Redis),
/// builds the gateway's upstreams so that their gates exist, subscribes to the breaker channel, and runs
/// the renewal and convergence loops until the app stops.
/// </summary>
internal sealed class RedisCoordinationService(RedisClusterCoordinator coordinator, HardenedProxyRegistry registry) : BackgroundService
{
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(1);
    private int _subscribed;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the registry builds every configured upstream, and with it every gate and shared breaker.
        _ = registry.Upstreams;
        coordinator.Redis.Recovered += OnRecovered;
        await coordinator.Redis.StartAsync(StartupWait).ConfigureAwait(false);
        await SubscribeAsync().ConfigureAwait(false);
        await coordinator.WarmUpAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        coordinator.Redis.Recovered -= OnRecovered;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timeProvider = coordinator.Redis.TimeProvider;
        var renewEvery = coordinator.Redis.Options.LeaseTime / 3;
        return Task.WhenAll(
            RunEveryAsync(renewEvery, coordinator.RenewLeasesAsync, timeProvider, stoppingToken),
            RunEveryAsync(RedisClusterCoordinator.BreakerSyncInterval, coordinator.SyncBreakersAsync, timeProvider, stoppingToken));
    }

    private static async Task RunEveryAsync(TimeSpan period, Func<CancellationToken, Task> work, TimeProvider timeProvider, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(period, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // Each Redis call is bounded by OperationTimeout and reports its own failure; while Redis is
                // unavailable the work returns at once (no database), so the loop never hammers it.
                await work(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The app is stopping.
        }
    }

    private void OnRecovered()
    {
        _ = SubscribeAsync();
        _ = coordinator.SyncBreakersAsync(coordinator.Redis.Stopping);
    }

    private async Task SubscribeAsync()
    {
        if (coordinator.Redis.Connection is not { } connection || Volatile.Read(ref _subscribed) != 0)
        {
            return;
        }

        try
        {
            // StackExchange.Redis subscribes again by itself after a reconnect.
            await connection.GetSubscriber().SubscribeAsync(coordinator.Redis.BreakerChannel, (_, message) => coordinator.OnBreakerMessage(message)).ConfigureAwait(false);
            Volatile.Write(ref _subscribed, 1);
        }
        catch (RedisException)
        {
            // Subscribed on the next recovery; until then the convergence read keeps the verdicts in step.
        }
    }
}
