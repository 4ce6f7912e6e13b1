using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>A real Kestrel gateway host on 127.0.0.1 with a free port, wired with AddHardenedProxy from in-memory configuration.</summary>
public sealed class TestGateway : IAsyncDisposable
{
    private readonly ReloadableConfigurationProvider _configuration;

    private TestGateway(WebApplication app, HttpClient client, ReloadableConfigurationProvider configuration)
    {
        App = app;
        Client = client;
        _configuration = configuration;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public Uri BaseAddress => Client.BaseAddress!;

    public IServiceProvider Services => App.Services;

    /// <summary>Starts a gateway. <paramref name="settings"/> are configuration keys below the root, e.g. "HardenedGateway:Proxies:ai:Upstream".</summary>
    public static async Task<TestGateway> StartAsync(
        IDictionary<string, string?> settings,
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? configure = null,
        Action<ILoggingBuilder>? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        var configuration = new ReloadableConfigurationSource(settings);
        ((IConfigurationBuilder)builder.Configuration).Add(configuration);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        configure?.Invoke(app);
        await app.StartAsync().ConfigureAwait(false);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new TestGateway(app, CreateClient(address), configuration.Provider);
    }

    /// <summary>A client with its own connection pool (no proxy, no redirects, no decompression).</summary>
    public static HttpClient CreateClient(Uri baseAddress) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>A new client of this gateway with its own connection pool; the caller disposes it.</summary>
    public HttpClient CreateClient() => CreateClient(BaseAddress);

    /// <summary>Replaces the whole configuration (keys may disappear) and fires a configuration reload.</summary>
    public void ReplaceConfiguration(IDictionary<string, string?> settings) => _configuration.Replace(settings);

    public T GetRequiredService<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
    }
}
