using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HardenedGateway.Tests.Hosting;

/// <summary>A bad value stops the app at start-up with a message naming the key, the value and the range.</summary>
[TestFixture]
public sealed class StartupValidationTests
{
    [Test]
    public async Task StartAsync_OutOfRangeValueInConfiguration_ThrowsOptionsValidationExceptionNamingTheKey()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:8000/",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:HalfOpenRequests"] = "0",
        });

        var thrown = Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.That(thrown!.Message, Does.Contain("HardenedGateway:Proxies:ai:CircuitBreaker:HalfOpenRequests is 0; allowed: 1 .. 1000."));
    }

    [Test]
    public async Task StartAsync_BareNumberDuration_ThrowsAndSaysItMeansDays()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Transport:DialTimeout"] = "2",
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:8000/",
        });

        var thrown = Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.That(thrown!.Message, Does.Contain("HardenedGateway:Transport:DialTimeout is '2.00:00:00'").And.Contain("('2' is 2 days)"));
    }

    [Test]
    public async Task StartAsync_BadValueSetInCode_Throws()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddHardenedProxy(options => options.Proxies["ai"] = new ProxyOptions { PathPrefix = "api/ai", Upstream = "http://127.0.0.1:8000/" });
        await using var app = builder.Build();

        var thrown = Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.That(thrown!.Message, Does.Contain("HardenedGateway:Proxies:ai:PathPrefix is 'api/ai'"));
    }

    [Test]
    public async Task StartAsync_ValidConfiguration_Starts()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:8000/",
        });

        await app.StartAsync();

        Assert.That(app.Services.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out _), Is.True);
        await app.StopAsync();
    }

    [Test]
    public async Task StartAsync_ValueThatDoesNotConvert_ThrowsNamingTheKey()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:8000/",
            ["HardenedGateway:Proxies:ai:MaxConcurrent"] = "five",
        });

        var thrown = Assert.CatchAsync(() => app.StartAsync());

        Assert.That(thrown!.Message, Does.Contain("HardenedGateway:Proxies:ai:MaxConcurrent"));
    }

    [Test]
    public async Task StartAsync_MisspeltKey_ThrowsNamingItsFullPath()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:8000/",
            ["HardenedGateway:Proxies:ai:MaxConcurent"] = "5",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureTreshold"] = "3",
        });

        var thrown = Assert.CatchAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());

        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("HardenedGateway:Proxies:ai:MaxConcurent is not a HardenedGateway setting"));
            Assert.That(thrown.Message, Does.Contain("HardenedGateway:Proxies:ai:CircuitBreaker:FailureTreshold is not a HardenedGateway setting"));
            Assert.That(thrown.Message, Does.Contain("MaxConcurrent"), "the known names are listed");
        });
    }

    [Test]
    public async Task StartAsync_MisspeltWebSocketsKey_ThrowsNamingItsFullPath()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:8000/",
            ["HardenedGateway:Proxies:ai:WebSockets:Enabled"] = "true",
            ["HardenedGateway:Proxies:ai:WebSockets:MaxConnection"] = "5",
        });

        var thrown = Assert.CatchAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("HardenedGateway:Proxies:ai:WebSockets:MaxConnection is not a HardenedGateway setting"));
            Assert.That(thrown.Message, Does.Contain("MaxConnections, IdleTimeout, MaxLifetime"), "the known names are listed");
        });
    }

    [Test]
    public async Task StartAsync_WebSocketsKeysInConfiguration_Bind()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = "http://127.0.0.1:8000/",
            ["HardenedGateway:Proxies:ai:WebSockets:Enabled"] = "true",
            ["HardenedGateway:Proxies:ai:WebSockets:MaxConnections"] = "7",
            ["HardenedGateway:Proxies:ai:WebSockets:IdleTimeout"] = "00:01:00",
            ["HardenedGateway:Proxies:ai:WebSockets:MaxLifetime"] = "01:00:00",
        });

        await app.StartAsync();
        Assert.That(app.Services.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
        var settings = ai!.Settings.WebSockets;
        await app.StopAsync();

        Assert.Multiple(() =>
        {
            Assert.That(settings.Enabled, Is.True);
            Assert.That(settings.MaxConnections, Is.EqualTo(7));
            Assert.That(settings.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(settings.MaxLifetime, Is.EqualTo(TimeSpan.FromHours(1)));
        });
    }

    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
        return builder.Build();
    }
}
