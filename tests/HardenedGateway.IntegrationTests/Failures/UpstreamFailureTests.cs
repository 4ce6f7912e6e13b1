using System.Net;
using System.Net.Sockets;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Failures;

/// <summary>Upstreams that refuse, reset, close or answer garbage give 502 (EC-004); the gateway keeps serving.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class UpstreamFailureTests
{
    private const string ValidResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

    [Test]
    public async Task Get_ClosedPort_Gives502Unreachable()
    {
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(new Uri($"http://127.0.0.1:{FreePort()}/")));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));

        var problem = await Problem.ReadAsync(response, HttpStatusCode.BadGateway);
        Assert.That(problem.Reason, Is.EqualTo("upstream_unreachable"));
    }

    [Test]
    public async Task Get_UpstreamResetsConnection_Gives502Unreachable()
    {
        await using var upstream = RawUpstream.Start(async connection =>
        {
            await connection.ReadRequestHeadAsync();
            connection.Reset();
        });
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));

        var problem = await Problem.ReadAsync(response, HttpStatusCode.BadGateway);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("upstream_unreachable"));
            Assert.That(upstream.AcceptedConnections, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Get_UpstreamClosesBeforeHeaders_Gives502Unreachable()
    {
        await using var upstream = RawUpstream.Start(async connection =>
        {
            await connection.ReadRequestHeadAsync();
            connection.Socket.Shutdown(SocketShutdown.Both);
        });
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));

        var problem = await Problem.ReadAsync(response, HttpStatusCode.BadGateway);
        Assert.That(problem.Reason, Is.EqualTo("upstream_unreachable"));
    }

    [Test]
    public async Task Get_UpstreamAnswersGarbage_Gives502WithWarningAndGatewayKeepsServing()
    {
        var connections = 0;
        await using var upstream = RawUpstream.Start(async connection =>
        {
            await connection.ReadRequestHeadAsync();
            await connection.WriteAsync(Interlocked.Increment(ref connections) == 1 ? "HELLO\r\n\r\n" : ValidResponse);
        });
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress), logging: b => b.AddFakeLogging());
        var logs = gateway.Services.GetFakeLogCollector();

        using var garbage = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));
        var problem = await Problem.ReadAsync(garbage, HttpStatusCode.BadGateway);
        using var next = await gateway.Client.GetAsync(new Uri("/api/ai/y", UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That(problem.Reason, Is.EqualTo("bad_upstream_response"));
            Assert.That(
                logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Id.Id == 20 && r.Message.Contains("ai", StringComparison.Ordinal)),
                Is.Not.Empty,
                "a warning names the proxy whose upstream answered garbage");
            Assert.That(next.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await next.Content.ReadAsStringAsync(), Is.EqualTo("ok"));
        });
    }

    [Test]
    public async Task Get_WebSocketUpgrade_Gets501AndUpstreamIsNeverCalled()
    {
        var hits = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", () =>
        {
            Interlocked.Increment(ref hits);
            return "upstream";
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        var response = await RawHttp.SendAsync(gateway.BaseAddress,
            $"GET /api/ai/ws HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(501));
            Assert.That(RawHttp.Header(response.Head, "Content-Type"), Is.EqualTo("application/problem+json"));
            Assert.That(response.Body, Does.Contain("\"reason\":\"upgrade_rejected\""));
            Assert.That(hits, Is.Zero);
        });
    }

    [Test]
    public async Task Get_OtherUpgrade_Gets501()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", () => "upstream"));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/x", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Upgrade", "TLS/1.2");
        request.Headers.TryAddWithoutValidation("Connection", "Upgrade");
        using var response = await gateway.Client.SendAsync(request);

        var problem = await Problem.ReadAsync(response, HttpStatusCode.NotImplemented);
        Assert.That(problem.Reason, Is.EqualTo("upgrade_rejected"));
    }

    [Test]
    public async Task Get_UpgradeH2c_IsIgnoredAndForwardedWithoutUpgradeHeaders()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", (Microsoft.AspNetCore.Http.HttpContext context) =>
            $"upgrade=[{context.Request.Headers.Upgrade}] connection=[{context.Request.Headers.Connection}] settings=[{context.Request.Headers["HTTP2-Settings"]}]"));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        var response = await RawHttp.SendAsync(gateway.BaseAddress,
            $"GET /api/ai/x HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.Body, Is.EqualTo("upgrade=[] connection=[] settings=[]"));
        });
    }

    internal static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
