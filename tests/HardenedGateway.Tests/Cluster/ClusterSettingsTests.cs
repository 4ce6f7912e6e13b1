using HardenedGateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NSubstitute;

namespace HardenedGateway.Tests.Cluster;

/// <summary>The core's side of the cluster budget: <c>Proxies:&lt;name&gt;:Cluster</c>, the <c>Redis</c> section, and the admission-gate seam.</summary>
[TestFixture]
public sealed class ClusterSettingsTests
{
    private const string Key = "HardenedGateway:Proxies:ai";

    [Test]
    public void Validate_ClusterBudgetWithoutLocalLimit_FailsNamingBothKeys()
    {
        var proxy = Proxy();
        proxy.Cluster.MaxConcurrent = 10;

        Assert.That(Failures(proxy), Is.EqualTo(new[]
        {
            $"{Key}:Cluster:MaxConcurrent is 10 but {Key}:MaxConcurrent is 0; a cluster budget needs a local limit (MaxConcurrent above 0, the replica's fair share, or AdaptiveConcurrency:Enabled), which protects the upstream while Redis is unavailable.",
        }));
    }

    [TestCase(-1)]
    [TestCase(100_001)]
    public void Validate_ClusterMaxConcurrentOutOfRange_NamesKeyValueAndRange(int value)
    {
        var proxy = Proxy();
        proxy.MaxConcurrent = 4;
        proxy.Cluster.MaxConcurrent = value;

        Assert.That(Failures(proxy), Does.Contain($"{Key}:Cluster:MaxConcurrent is {value}; allowed: 0 (no cluster budget) .. 100000."));
    }

    [Test]
    public void Validate_ClusterBudgetWithLocalLimit_Succeeds()
    {
        var proxy = Proxy();
        proxy.MaxConcurrent = 4;
        proxy.Cluster.MaxConcurrent = 10;
        proxy.Cluster.ShareCircuitBreaker = true;

        Assert.That(Failures(proxy), Is.Empty);
    }

    [Test]
    public void Validate_ClusterBudgetWithAdaptiveLocalLimit_Succeeds()
    {
        var proxy = Proxy();
        proxy.AdaptiveConcurrency.Enabled = true;
        proxy.Cluster.MaxConcurrent = 10;

        Assert.That(Failures(proxy), Is.Empty);
    }

    [Test]
    public async Task StartAsync_RedisSectionAndClusterKeys_BindWithoutThePackage()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Redis:Configuration"] = "127.0.0.1:6379",
            ["HardenedGateway:Redis:LeaseTime"] = "00:00:30",
            [$"{Key}:MaxConcurrent"] = "4",
            [$"{Key}:Cluster:MaxConcurrent"] = "10",
            [$"{Key}:Cluster:ShareCircuitBreaker"] = "true",
        });

        await app.StartAsync();
        var upstream = app.Services.GetRequiredService<HardenedProxyRegistry>().Upstreams.Single();
        Assert.Multiple(() =>
        {
            Assert.That(upstream.Settings.Cluster.MaxConcurrent, Is.EqualTo(10));
            Assert.That(upstream.Settings.Cluster.ShareCircuitBreaker, Is.True);
            Assert.That(upstream.AdmissionGate, Is.Null, "no coordination package, no gate");
        });
        await app.StopAsync();
    }

    [Test]
    public async Task StartAsync_MisspeltClusterKey_FailsNamingIt()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            [$"{Key}:MaxConcurrent"] = "4",
            [$"{Key}:Cluster:MaxConcurent"] = "10",
        });

        var thrown = Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.That(thrown!.Message, Does.Contain($"{Key}:Cluster:MaxConcurent is not a HardenedGateway setting"));
    }

    [Test]
    public async Task StartAsync_ClusterBudgetWithoutLocalLimit_FailsNamingBothKeys()
    {
        await using var app = Build(new Dictionary<string, string?> { [$"{Key}:Cluster:MaxConcurrent"] = "10" });

        var thrown = Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.That(thrown!.Message, Does.Contain($"{Key}:Cluster:MaxConcurrent is 10 but {Key}:MaxConcurrent is 0"));
    }

    [Test]
    public void GetGate_ProviderRegistered_AskedOncePerUpstreamAndItsAnswerKept()
    {
        var provider = Substitute.For<IAdmissionGateProvider>();
        var gate = Substitute.For<IAdmissionGate>();
        provider.GetGate(Arg.Any<HardenedUpstream>()).Returns(call => call.Arg<HardenedUpstream>().Settings.Cluster.MaxConcurrent > 0 ? gate : null);
        var services = ServicesWithClusterProxy(provider, static options => options.Proxies["plain"] = new ProxyOptions { PathPrefix = "/api/plain", Upstream = "http://127.0.0.1:9/" });
        using var built = services.BuildServiceProvider();

        var registry = built.GetRequiredService<HardenedProxyRegistry>();
        registry.TryGetUpstream("ai", out var ai);
        registry.TryGetUpstream("plain", out var plain);

        Assert.Multiple(() =>
        {
            Assert.That(ai!.AdmissionGate, Is.SameAs(gate));
            Assert.That(plain!.AdmissionGate, Is.Null);
            provider.Received(1).GetGate(ai);
        });
    }

    [Test]
    public async Task CheckHealthAsync_GateDegraded_DegradedNamingTheProxy()
    {
        var gate = Substitute.For<IAdmissionGate>();
        gate.IsDegraded.Returns(true);
        var provider = Substitute.For<IAdmissionGateProvider>();
        provider.GetGate(Arg.Any<HardenedUpstream>()).Returns(gate);
        var services = ServicesWithClusterProxy(provider);
        services.AddHealthChecks().AddHardenedGateway();
        await using var built = services.BuildServiceProvider();

        var entry = (await built.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["hardened_gateway"];

        Assert.Multiple(() =>
        {
            Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(entry.Description, Is.EqualTo("Cluster budget unavailable, local limits only, for: ai."));
            Assert.That(entry.Data, Is.EquivalentTo(new Dictionary<string, object> { ["ai"] = "cluster-degraded" }));
        });

        gate.IsDegraded.Returns(false);
        Assert.That((await built.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status, Is.EqualTo(HealthStatus.Healthy));
    }

    private static ProxyOptions Proxy() => new() { PathPrefix = "/api/ai", Upstream = "http://127.0.0.1:8000/" };

    /// <summary>Services with <paramref name="provider"/> and proxy <c>ai</c> under a cluster budget (4) behind a local limit (2), then <paramref name="configure"/>.</summary>
    private static ServiceCollection ServicesWithClusterProxy(IAdmissionGateProvider provider, Action<HardenedProxyOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(provider);
        services.AddHardenedProxy(options =>
        {
            var proxy = Proxy();
            proxy.MaxConcurrent = 2;
            proxy.Cluster.MaxConcurrent = 4;
            options.Proxies["ai"] = proxy;
            configure?.Invoke(options);
        });
        return services;
    }

    private static List<string> Failures(ProxyOptions proxy)
    {
        var options = new HardenedProxyOptions();
        options.Proxies["ai"] = proxy;
        return HardenedProxyOptionsValidator.Collect(options);
    }

    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        settings[$"{Key}:PathPrefix"] = "/api/ai";
        settings[$"{Key}:Upstream"] = "http://127.0.0.1:8000/";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseSetting("urls", "http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
        return builder.Build();
    }
}
