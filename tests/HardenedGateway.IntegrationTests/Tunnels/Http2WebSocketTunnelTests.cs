using System.Net;
using System.Net.WebSockets;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.IntegrationTests.Tunnels;

/// <summary>WS-001 over HTTP/2: extended CONNECT (RFC 8441) from the client, bridged to an HTTP/1.1 WebSocket upstream.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class Http2WebSocketTunnelTests
{
    [Test]
    public async Task Tunnel_Http2ExtendedConnect_EchoesThroughHttp11Upstream()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await StartHttp2OnlyGatewayAsync(upstream.BaseAddress, webSocketsEnabled: true);
        var address = GatewayAddress(gateway);
        using var handler = new SocketsHttpHandler { UseProxy = false };
        using var invoker = new HttpMessageInvoker(handler);
        using var socket = TunnelClient.Create();
        socket.Options.HttpVersion = HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        using var timeout = new CancellationTokenSource(TunnelClient.Bound);

        await socket.ConnectAsync(TunnelClient.WebSocketUri(address, "/api/ai/ws"), invoker, timeout.Token);
        var message = new byte[100_000];
        new Random(7).NextBytes(message);
        await TunnelClient.SendAsync(socket, message, WebSocketMessageType.Binary);
        var (type, payload) = await TunnelClient.ReceiveAsync(socket);
        await TunnelClient.SendTextAsync(socket, "text over h2");
        var text = await TunnelClient.ReceiveTextAsync(socket);
        await TunnelClient.CloseAsync(socket);

        Assert.Multiple(() =>
        {
            Assert.That(socket.HttpStatusCode, Is.EqualTo(HttpStatusCode.OK), "RFC 8441: the extended CONNECT is answered 200");
            Assert.That(type, Is.EqualTo(WebSocketMessageType.Binary));
            Assert.That(payload.AsSpan().SequenceEqual(message), Is.True);
            Assert.That(text, Is.EqualTo("text over h2"));
            Assert.That(upstream.Accepted, Is.EqualTo(1));
        });
        var registry = gateway.Services.GetRequiredService<HardenedProxyRegistry>();
        Assert.That(registry.TryGetUpstream("ai", out var ai), Is.True);
        Assert.That(await Eventually.HoldsAsync(() => ai!.Metrics.ActiveTunnels == 0 && ai.Metrics.GetRequestCount(101) == 1), Is.True);
    }

    [Test]
    public async Task Upgrade_Http2ExtendedConnectWithWebSocketsDisabled_Gets501()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await StartHttp2OnlyGatewayAsync(upstream.BaseAddress, webSocketsEnabled: false);
        using var handler = new SocketsHttpHandler { UseProxy = false };
        using var invoker = new HttpMessageInvoker(handler);
        using var socket = TunnelClient.Create();
        socket.Options.HttpVersion = HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        using var timeout = new CancellationTokenSource(TunnelClient.Bound);

        Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(TunnelClient.WebSocketUri(GatewayAddress(gateway), "/api/ai/ws"), invoker, timeout.Token));
        Assert.Multiple(() =>
        {
            Assert.That(socket.HttpStatusCode, Is.EqualTo(HttpStatusCode.NotImplemented));
            Assert.That(upstream.UpgradeRequests, Is.Zero);
        });
    }

    private static Uri GatewayAddress(WebApplication gateway) =>
        new(gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>A gateway whose only listener speaks HTTP/2 without TLS (prior knowledge), where Kestrel offers extended CONNECT.</summary>
    private static async Task<WebApplication> StartHttp2OnlyGatewayAsync(Uri upstream, bool webSocketsEnabled)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var settings = GatewaySettings.Proxy(upstream).With("WebSockets:Enabled", webSocketsEnabled ? "true" : "false");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.ConfigureKestrel(static kestrel => kestrel.Listen(IPAddress.Loopback, 0, static listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection(GatewaySettings.Root));
        var app = builder.Build();
        await app.StartAsync();
        return app;
    }
}
