using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.Testing;

/// <summary>A real Kestrel upstream on 127.0.0.1 with a free port; counts the TCP connections it accepts.</summary>
public sealed class TestUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _acceptedConnections;

    private TestUpstream(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public int AcceptedConnections => Volatile.Read(ref _acceptedConnections);

    public static async Task<TestUpstream> StartAsync(Action<WebApplication> map, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        TestUpstream? upstream = null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.Use(next => connection =>
            {
                Interlocked.Increment(ref upstream!._acceptedConnections);
                return next(connection);
            })));
        var app = builder.Build();
        upstream = new TestUpstream(app);
        map(app);
        await app.StartAsync().ConfigureAwait(false);
        upstream.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
