using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Hosting;

/// <summary>Configuration reload without a restart (DESIGN.md "Configuration").</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class ReloadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Reload_ProxyAdded_IsServed()
    {
        await using var a = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "a"));
        await using var b = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "b"));
        var settings = GatewaySettings.Proxy(a.BaseAddress);
        await using var gateway = await TestGateway.StartAsync(settings);
        using (var before = await gateway.Client.GetAsync(new Uri("/api/b/x", UriKind.Relative)))
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        gateway.ReplaceConfiguration(settings.Copy().AddProxy("b", "/api/b", b.BaseAddress));

        Assert.That(await Eventually.HoldsAsync(() => Registry(gateway).TryGetUpstream("b", out _)), Is.True);
        Assert.Multiple(async () =>
        {
            Assert.That(await gateway.Client.GetStringAsync(new Uri("/api/b/x", UriKind.Relative)), Is.EqualTo("b"));
            Assert.That(await gateway.Client.GetStringAsync(new Uri("/api/ai/x", UriKind.Relative)), Is.EqualTo("a"));
        });
    }

    [Test]
    public async Task Reload_ProxyRemoved_IsNoLongerServed()
    {
        await using var a = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "a"));
        await using var b = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "b"));
        var settings = GatewaySettings.Proxy(a.BaseAddress).AddProxy("b", "/api/b", b.BaseAddress);
        await using var gateway = await TestGateway.StartAsync(settings);
        Assert.That(await gateway.Client.GetStringAsync(new Uri("/api/b/x", UriKind.Relative)), Is.EqualTo("b"));

        gateway.ReplaceConfiguration(GatewaySettings.Proxy(a.BaseAddress));

        Assert.That(await Eventually.HoldsAsync(() => !Registry(gateway).TryGetUpstream("b", out _)), Is.True);
        using var removed = await gateway.Client.GetAsync(new Uri("/api/b/x", UriKind.Relative));
        Assert.Multiple(async () =>
        {
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(await gateway.Client.GetStringAsync(new Uri("/api/ai/x", UriKind.Relative)), Is.EqualTo("a"));
        });
    }

    [Test]
    public async Task Reload_ProxyChanged_GetsNewSettingsWhileUnchangedProxyKeepsItsState()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var other = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => Results.StatusCode(500)));
        var settings = GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "5")
            .AddProxy("other", "/api/other", other.BaseAddress).WithBreaker(1, TimeSpan.FromMinutes(5), name: "other").With("MaxConcurrent", "4", "other");
        await using var gateway = await TestGateway.StartAsync(settings);
        using (var failure = await gateway.Client.GetAsync(new Uri("/api/other/x", UriKind.Relative)))
        {
            Assert.That(failure.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        }

        Assert.That(Registry(gateway).TryGetUpstream("ai", out var oldAi) & Registry(gateway).TryGetUpstream("other", out var oldOther), Is.True);
        Assert.That(oldOther!.CircuitBreaker!.State, Is.EqualTo(CircuitState.Open));

        // The documented way: change a value through the app's configuration, then reload it.
        gateway.App.Configuration["HardenedGateway:Proxies:ai:MaxConcurrent"] = "2";
        ((IConfigurationRoot)gateway.App.Configuration).Reload();

        Assert.That(await Eventually.HoldsAsync(() => Registry(gateway).TryGetUpstream("ai", out var ai) && ai.Limiter?.MaxConcurrent == 2), Is.True);
        Assert.That(Registry(gateway).TryGetUpstream("ai", out var newAi) & Registry(gateway).TryGetUpstream("other", out var newOther), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(newAi, Is.Not.SameAs(oldAi));
            Assert.That(newOther, Is.SameAs(oldOther), "an unchanged proxy keeps its upstream instance");
            Assert.That(newOther!.Limiter, Is.SameAs(oldOther!.Limiter));
            Assert.That(newOther.CircuitBreaker, Is.SameAs(oldOther.CircuitBreaker));
            Assert.That(newOther.CircuitBreaker!.State, Is.EqualTo(CircuitState.Open), "and its breaker state");
        });

        var requests = Enumerable.Range(0, 3).Select(_ => gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative))).ToArray();
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 2 && requests.Count(r => r.IsCompleted) == 1), Is.True, "the new limit of 2 applies");
        upstream.Release();
        var responses = await Task.WhenAll(requests).WaitAsync(Bound);
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(1));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task Reload_WhileRequestInFlight_RequestFinishesOnItsOldSettings()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        var settings = GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "1");
        await using var gateway = await TestGateway.StartAsync(settings);
        Assert.That(Registry(gateway).TryGetUpstream("ai", out var oldAi), Is.True);

        var inFlight = gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 1), Is.True);
        gateway.ReplaceConfiguration(settings.Copy().With("MaxConcurrent", "3"));
        Assert.That(await Eventually.HoldsAsync(() => Registry(gateway).TryGetUpstream("ai", out var ai) && ai.Limiter?.MaxConcurrent == 3), Is.True);
        Assert.That(Registry(gateway).TryGetUpstream("ai", out var newAi), Is.True);
        Assert.That(newAi!.Limiter!.Available, Is.EqualTo(3), "the new limiter starts empty");

        upstream.Release();
        using var response = await inFlight.WaitAsync(Bound);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await Eventually.HoldsAsync(() => oldAi!.Limiter!.Available == 1), Is.True, "the request gave its slot back to the limiter it took it from");
        Assert.That(newAi.Limiter.Available, Is.EqualTo(3));
    }

    [Test]
    public async Task Reload_BadValue_IsRejectedWithErrorLogAndOldSettingsKeepServing()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "ok"));
        var settings = GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "5");
        await using var gateway = await TestGateway.StartAsync(settings, logging: b => b.AddFakeLogging());
        var logs = gateway.Services.GetFakeLogCollector();
        Assert.That(Registry(gateway).TryGetUpstream("ai", out var before), Is.True);

        gateway.ReplaceConfiguration(settings.Copy().With("MaxConcurrent", "-1").AddProxy("b", "/api/b", upstream.BaseAddress));

        Assert.That(await Eventually.HoldsAsync(() => logs.GetSnapshot().Any(r => r.Level == LogLevel.Error)), Is.True);
        var error = logs.GetSnapshot().First(r => r.Level == LogLevel.Error);
        Assert.That(Registry(gateway).TryGetUpstream("ai", out var after), Is.True);
        Assert.Multiple(async () =>
        {
            Assert.That(error.Message, Does.Contain("HardenedGateway:Proxies:ai:MaxConcurrent is -1"));
            Assert.That(after, Is.SameAs(before));
            Assert.That(Registry(gateway).TryGetUpstream("b", out _), Is.False, "nothing of a rejected reload applies");
            Assert.That(await gateway.Client.GetStringAsync(new Uri("/api/ai/x", UriKind.Relative)), Is.EqualTo("ok"));
        });
    }

    [Test]
    public async Task Reload_TransportChanged_ProxiesReloadAndAWarningSaysTransportNeedsRestart()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "ok"));
        var settings = GatewaySettings.Proxy(upstream.BaseAddress);
        await using var gateway = await TestGateway.StartAsync(settings, logging: b => b.AddFakeLogging());
        var logs = gateway.Services.GetFakeLogCollector();

        gateway.ReplaceConfiguration(settings.Copy().WithTransport("DialTimeout", "00:00:03").AddProxy("b", "/api/b", upstream.BaseAddress));

        Assert.That(await Eventually.HoldsAsync(() => Registry(gateway).TryGetUpstream("b", out _)), Is.True, "the proxies reload");
        var warning = logs.GetSnapshot().SingleOrDefault(r => r.Id.Id == 42);
        Assert.That(warning, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(warning!.Level, Is.EqualTo(LogLevel.Warning));
            Assert.That(warning.Message, Does.Contain("apply after a restart"));
        });
    }

    [Test]
    public async Task Reload_TransportValueThatDoesNotBind_IsRejectedWithErrorNamingTheKey()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "ok"));
        var settings = GatewaySettings.Proxy(upstream.BaseAddress);
        await using var gateway = await TestGateway.StartAsync(settings, logging: b => b.AddFakeLogging());
        var logs = gateway.Services.GetFakeLogCollector();
        Assert.That(Registry(gateway).TryGetUpstream("ai", out var before), Is.True);

        gateway.ReplaceConfiguration(settings.Copy().WithTransport("DialTimeout", "soon").AddProxy("b", "/api/b", upstream.BaseAddress));

        Assert.That(await Eventually.HoldsAsync(() => logs.GetSnapshot().Any(r => r.Level == LogLevel.Error)), Is.True);
        Assert.Multiple(async () =>
        {
            Assert.That(logs.GetSnapshot().First(r => r.Level == LogLevel.Error).Message, Does.Contain("HardenedGateway:Transport:DialTimeout"));
            Assert.That(Registry(gateway).TryGetUpstream("b", out _), Is.False);
            Assert.That(Registry(gateway).TryGetUpstream("ai", out var after) && ReferenceEquals(after, before), Is.True);
            Assert.That(await gateway.Client.GetStringAsync(new Uri("/api/ai/x", UriKind.Relative)), Is.EqualTo("ok"));
        });
    }

    [Test]
    public async Task Reload_ValueThatDoesNotBind_IsRejectedAndOldSettingsKeepServing()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "ok"));
        var settings = GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "5");
        await using var gateway = await TestGateway.StartAsync(settings, logging: b => b.AddFakeLogging());
        var logs = gateway.Services.GetFakeLogCollector();
        Assert.That(Registry(gateway).TryGetUpstream("ai", out var before), Is.True);

        gateway.ReplaceConfiguration(settings.Copy().With("MaxConcurrent", "notanumber"));

        Assert.That(await Eventually.HoldsAsync(() => logs.GetSnapshot().Any(r => r.Level == LogLevel.Error)), Is.True);
        Assert.Multiple(async () =>
        {
            Assert.That(logs.GetSnapshot().First(r => r.Level == LogLevel.Error).Message, Does.Contain("HardenedGateway:Proxies:ai:MaxConcurrent"));
            Assert.That(Registry(gateway).TryGetUpstream("ai", out var after) && ReferenceEquals(after, before), Is.True);
            Assert.That(await gateway.Client.GetStringAsync(new Uri("/api/ai/x", UriKind.Relative)), Is.EqualTo("ok"));
        });
    }

    private static HardenedProxyRegistry Registry(TestGateway gateway) => gateway.GetRequiredService<HardenedProxyRegistry>();
}
