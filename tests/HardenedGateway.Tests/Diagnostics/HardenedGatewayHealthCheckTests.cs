using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.Tests.Diagnostics;

/// <summary><c>AddHealthChecks().AddHardenedGateway()</c>: degraded while a breaker is open or half-open, naming the proxies.</summary>
[TestFixture]
public sealed class HardenedGatewayHealthCheckTests
{
    private readonly FakeTimeProvider _time = new();

    [Test]
    public async Task CheckHealthAsync_EveryBreakerClosed_Healthy()
    {
        await using var services = BuildServices(checks => checks.AddHardenedGateway());

        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var entry = report.Entries["hardened_gateway"];

        Assert.Multiple(() =>
        {
            Assert.That(report.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(entry.Description, Is.EqualTo("Every circuit breaker is closed (3 proxies)."));
            Assert.That(entry.Data, Is.Empty);
        });
    }

    [Test]
    public async Task CheckHealthAsync_OneOpenOneHalfOpen_DegradedNamingBoth()
    {
        await using var services = BuildServices(checks => checks.AddHardenedGateway());
        Trip(services, "ai");
        Trip(services, "batch");
        _time.Advance(TimeSpan.FromSeconds(10)); // batch's recovery timeout: half-open; ai's is an hour

        var entry = (await services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["hardened_gateway"];

        Assert.Multiple(() =>
        {
            Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(entry.Description, Is.EqualTo("Circuit breaker not closed for: ai (open), batch (half-open)."));
            Assert.That(entry.Data, Is.EquivalentTo(new Dictionary<string, object> { ["ai"] = "open", ["batch"] = "half-open" }));
        });
    }

    [Test]
    public async Task CheckHealthAsync_BreakerResetAfterOpening_HealthyAgain()
    {
        await using var services = BuildServices(checks => checks.AddHardenedGateway());
        var breaker = Trip(services, "ai");
        var health = services.GetRequiredService<HealthCheckService>();
        Assume.That((await health.CheckHealthAsync()).Status, Is.EqualTo(HealthStatus.Degraded));

        breaker.Reset();

        Assert.That((await health.CheckHealthAsync()).Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public async Task AddHardenedGateway_NameFailureStatusAndTags_AreThoseGiven()
    {
        await using var services = BuildServices(checks => checks.AddHardenedGateway("gateway", HealthStatus.Unhealthy, ["ready"]));
        Trip(services, "ai");

        var registration = services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Single();
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));

        Assert.Multiple(() =>
        {
            Assert.That(registration.Name, Is.EqualTo("gateway"));
            Assert.That(registration.Tags, Is.EquivalentTo(new[] { "ready" }));
            Assert.That(report.Entries["gateway"].Status, Is.EqualTo(HealthStatus.Unhealthy));
        });
    }

    /// <summary>Opens a proxy's breaker with one failure (threshold 1).</summary>
    private static CircuitBreaker Trip(IServiceProvider services, string proxy)
    {
        Assert.That(services.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream(proxy, out var upstream), Is.True);
        var breaker = upstream!.CircuitBreaker!;
        Assert.That(breaker.TryAdmit(out var permit), Is.True);
        breaker.OnFailure(permit);
        Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
        return breaker;
    }

    /// <summary>Proxies ai (breaker, recovery 1 h), batch (breaker, recovery 10 s) and plain (no breaker).</summary>
    private ServiceProvider BuildServices(Action<IHealthChecksBuilder> addCheck)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddLogging();
        services.AddHardenedProxy(options =>
        {
            options.Proxies["ai"] = Proxy("/api/ai", TimeSpan.FromHours(1));
            options.Proxies["batch"] = Proxy("/api/batch", TimeSpan.FromSeconds(10));
            options.Proxies["plain"] = new ProxyOptions { PathPrefix = "/api/plain", Upstream = "http://127.0.0.1:9/" };
        });
        addCheck(services.AddHealthChecks());
        return services.BuildServiceProvider();
    }

    private static ProxyOptions Proxy(string prefix, TimeSpan recovery) => new()
    {
        PathPrefix = prefix,
        Upstream = "http://127.0.0.1:9/",
        CircuitBreaker = new CircuitBreakerOptions { Enabled = true, FailureThreshold = 1, RecoveryTimeout = recovery },
    };
}
