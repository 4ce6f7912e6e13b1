using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Tests.Transport;

/// <summary>A real Kestrel server on 127.0.0.1 and a free port that answers "ok" and counts accepted TCP connections.</summary>
internal sealed class LoopbackUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _connections;

    private LoopbackUpstream(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public int AcceptedConnections => Volatile.Read(ref _connections);

    public static async Task<LoopbackUpstream> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        LoopbackUpstream? upstream = null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            Interlocked.Increment(ref upstream!._connections);
            return next(connection);
        })));
        var app = builder.Build();
        app.Run(static context => context.Response.WriteAsync("ok", context.RequestAborted));
        upstream = new LoopbackUpstream(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        upstream.BaseAddress = new Uri(address + "/");
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
