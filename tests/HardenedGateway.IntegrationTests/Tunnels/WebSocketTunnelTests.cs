using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Tunnels;

/// <summary>WS-001, WS-002: WebSocket tunnels through real Kestrel gateways to real Kestrel WebSocket upstreams, ClientWebSocket clients.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class WebSocketTunnelTests
{
    private static GatewaySettings Tunnels(Uri upstream, int maxConnections = 100, string idle = "00:05:00", string lifetime = "00:00:00") =>
        GatewaySettings.Proxy(upstream)
            .With("WebSockets:Enabled", "true")
            .With("WebSockets:MaxConnections", maxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("WebSockets:IdleTimeout", idle)
            .With("WebSockets:MaxLifetime", lifetime);

    private static HardenedUpstream Upstream(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var upstream), Is.True);
        return upstream!;
    }

    [TestCase(WebSocketMessageType.Text, 1)]
    [TestCase(WebSocketMessageType.Text, 125)]
    [TestCase(WebSocketMessageType.Text, 65_536)]
    [TestCase(WebSocketMessageType.Text, 1024 * 1024)]
    [TestCase(WebSocketMessageType.Binary, 126)]
    [TestCase(WebSocketMessageType.Binary, 70_000)]
    [TestCase(WebSocketMessageType.Binary, 1024 * 1024)]
    public async Task Tunnel_MessageUpTo1MiB_EchoedUnchangedBothWays(WebSocketMessageType type, int size)
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress);
        var message = new byte[size];
        if (type == WebSocketMessageType.Text)
        {
            message.AsSpan().Fill((byte)'a');
            message[^1] = (byte)'z';
        }
        else
        {
            new Random(size).NextBytes(message);
        }

        await TunnelClient.SendAsync(socket, message, type);
        var (receivedType, payload) = await TunnelClient.ReceiveAsync(socket);

        Assert.Multiple(() =>
        {
            Assert.That(socket.HttpStatusCode, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
            Assert.That(receivedType, Is.EqualTo(type));
            Assert.That(payload.AsSpan().SequenceEqual(message), Is.True, "the echoed message differs");
            Assert.That(upstream.Accepted, Is.EqualTo(1));
        });
        await TunnelClient.CloseAsync(socket);
    }

    [Test]
    public async Task Tunnel_ThousandMessages_RoundTripInOrder()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress);

        // Sender and receiver run at once, so up to the whole stream is in flight through the tunnel.
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                await TunnelClient.SendTextAsync(socket, "message " + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        });
        var received = new List<string>(1000);
        for (var i = 0; i < 1000; i++)
        {
            received.Add(await TunnelClient.ReceiveTextAsync(socket));
        }

        await sending.WaitAsync(TunnelClient.Bound);
        Assert.That(received, Is.EqualTo(Enumerable.Range(0, 1000).Select(static i => "message " + i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        await TunnelClient.CloseAsync(socket);
    }

    [Test]
    public async Task Upgrade_AtTunnelLimit_Gets429ProblemBefore101AndFreedSlotIsReused()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress, maxConnections: 2).With("RetryAfterSeconds", "7"));
        using var first = await TunnelClient.ConnectAsync(gateway.BaseAddress);
        using var second = await TunnelClient.ConnectAsync(gateway.BaseAddress);

        var refused = await RawHttp.SendAsync(gateway.BaseAddress, UpgradeRequest(gateway.BaseAddress, "/api/ai/ws"));
        var refusedByClient = await TunnelClient.ConnectRefusedAsync(gateway.BaseAddress);

        Assert.Multiple(() =>
        {
            Assert.That(refused.Status, Is.EqualTo(429));
            Assert.That(RawHttp.Header(refused.Head, "Retry-After"), Is.EqualTo("7"));
            Assert.That(RawHttp.Header(refused.Head, "Content-Type"), Is.EqualTo("application/problem+json"));
            Assert.That(refused.Body, Does.Contain("\"reason\":\"tunnel_limit\""));
            Assert.That(refusedByClient, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(upstream.UpgradeRequests, Is.EqualTo(2), "a refused upgrade never reaches the upstream");
            Assert.That(Upstream(gateway).Metrics.GetErrorCount(GatewayErrorReason.TunnelLimit), Is.EqualTo(2));
            Assert.That(Upstream(gateway).Metrics.ActiveTunnels, Is.EqualTo(2));
        });

        await TunnelClient.CloseAsync(first);
        Assert.That(await Eventually.HoldsAsync(() => Upstream(gateway).Metrics.ActiveTunnels == 1), Is.True);
        using var third = await TunnelClient.ConnectAsync(gateway.BaseAddress);
        await TunnelClient.SendTextAsync(third, "after");
        Assert.That(await TunnelClient.ReceiveTextAsync(third), Is.EqualTo("after"));
    }

    [Test]
    public async Task Tunnels_LimiterFull_TakeNoLimiterSlot()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress).With("MaxConcurrent", "1"));
        using var first = await TunnelClient.ConnectAsync(gateway.BaseAddress);
        using var second = await TunnelClient.ConnectAsync(gateway.BaseAddress);

        Assert.Multiple(() =>
        {
            Assert.That(Upstream(gateway).Limiter!.Available, Is.EqualTo(1));
            Assert.That(Upstream(gateway).Metrics.ActiveTunnels, Is.EqualTo(2));
        });
        await TunnelClient.CloseAsync(first);
        await TunnelClient.CloseAsync(second);
    }

    [Test]
    public async Task Upgrade_UpstreamRefusesWith403_PassedThroughAndCountsAsBreakerSuccess()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress).WithBreaker(1, TimeSpan.FromMinutes(1)));

        var first = await RawHttp.SendAsync(gateway.BaseAddress, UpgradeRequest(gateway.BaseAddress, "/api/ai/refuse"));
        var second = await RawHttp.SendAsync(gateway.BaseAddress, UpgradeRequest(gateway.BaseAddress, "/api/ai/refuse"));

        Assert.Multiple(() =>
        {
            Assert.That(first.Status, Is.EqualTo(403));
            Assert.That(first.Body, Is.EqualTo(WebSocketTestUpstream.RefusalBody));
            Assert.That(second.Status, Is.EqualTo(403), "a 4xx refusal is not a breaker failure");
            Assert.That(Upstream(gateway).CircuitBreaker!.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(Upstream(gateway).Metrics.ActiveTunnels, Is.Zero);
            Assert.That(Upstream(gateway).Metrics.GetRequestCount(403), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Upgrade_UpstreamAnswers503_PassedThroughThenBreakerOpensWith503Before101()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress).WithBreaker(2, TimeSpan.FromMinutes(1)));

        var first = await TunnelClient.ConnectRefusedAsync(gateway.BaseAddress, "/api/ai/fail");
        var second = await TunnelClient.ConnectRefusedAsync(gateway.BaseAddress, "/api/ai/fail");
        var open = await RawHttp.SendAsync(gateway.BaseAddress, UpgradeRequest(gateway.BaseAddress, "/api/ai/ws"));

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(second, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(open.Status, Is.EqualTo(503));
            Assert.That(RawHttp.Header(open.Head, "X-Circuit-Breaker"), Is.EqualTo("open"));
            Assert.That(RawHttp.Header(open.Head, "Retry-After"), Is.Not.Null);
            Assert.That(open.Body, Does.Contain("\"reason\":\"circuit_open\""));
            Assert.That(upstream.UpgradeRequests, Is.EqualTo(2), "the open breaker answered before the upstream was asked");
            Assert.That(upstream.Accepted, Is.Zero);
            Assert.That(Upstream(gateway).Metrics.ActiveTunnels, Is.Zero);
        });
    }

    [Test]
    public async Task Upgrade_UpstreamUnreachable_Gets502AndCountsAsBreakerFailure()
    {
        Uri closedPort;
        await using (var gone = await WebSocketTestUpstream.StartAsync())
        {
            closedPort = gone.BaseAddress;
        }

        await using var gateway = await TestGateway.StartAsync(Tunnels(closedPort).WithBreaker(1, TimeSpan.FromMinutes(1)));

        var unreachable = await RawHttp.SendAsync(gateway.BaseAddress, UpgradeRequest(gateway.BaseAddress, "/api/ai/ws"));
        var afterwards = await RawHttp.SendAsync(gateway.BaseAddress, UpgradeRequest(gateway.BaseAddress, "/api/ai/ws"));

        Assert.Multiple(() =>
        {
            Assert.That(unreachable.Status, Is.EqualTo(502));
            Assert.That(unreachable.Body, Does.Contain("\"reason\":\"upstream_unreachable\""));
            Assert.That(afterwards.Status, Is.EqualTo(503), "one failed upgrade opened a breaker with threshold 1");
            Assert.That(Upstream(gateway).CircuitBreaker!.State, Is.EqualTo(CircuitState.Open));
            Assert.That(Upstream(gateway).Metrics.ActiveTunnels, Is.Zero);
        });
    }

    [Test]
    public async Task Tunnel_Idle_ClosedAfterIdleTimeoutCountedAndLogged()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress, idle: "00:00:00.300"), logging: static b => b.AddFakeLogging());
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress);
        await TunnelClient.SendTextAsync(socket, "hello");
        Assert.That(await TunnelClient.ReceiveTextAsync(socket), Is.EqualTo("hello"));

        Assert.That(await TunnelClient.IsCutAsync(socket, TunnelClient.Bound), Is.True);
        Assert.That(await Eventually.HoldsAsync(() => upstream.Open == 0 && Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
        var metrics = Upstream(gateway).Metrics;
        var log = gateway.Services.GetFakeLogCollector().GetSnapshot().Single(static r => r.Id.Id == 50);
        Assert.Multiple(() =>
        {
            Assert.That(metrics.GetErrorCount(GatewayErrorReason.TunnelIdleTimeout), Is.EqualTo(1));
            Assert.That(metrics.GetRequestCount(101), Is.EqualTo(1));
            Assert.That(log.Level, Is.EqualTo(LogLevel.Information));
            Assert.That(log.GetStructuredStateValue("TunnelEnd"), Is.EqualTo("idle_timeout"));
            Assert.That(log.GetStructuredStateValue("StatusCode"), Is.EqualTo("101"));
            Assert.That(double.Parse(log.GetStructuredStateValue("TunnelDurationMs")!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(300));
            Assert.That(log.GetStructuredStateValue("BytesFromClient"), Is.Not.EqualTo("0"));
        });
    }

    [TestCase("/api/ai/ticks")]
    [TestCase("/api/ai/sink")]
    public async Task Tunnel_TrafficInOneDirectionOnly_KeepsTunnelOpenPastIdleTimeout(string path)
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress, idle: "00:00:00.400"));
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress, path);
        var fromClient = path.EndsWith("sink", StringComparison.Ordinal);

        // Four idle timeouts long, one side only talks every 50 ms (ticks: the upstream; sink: the client).
        var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(1600);
        var messages = 0;
        while (DateTime.UtcNow < until)
        {
            if (fromClient)
            {
                await TunnelClient.SendTextAsync(socket, "ping");
                await Task.Delay(50);
            }
            else
            {
                Assert.That(await TunnelClient.ReceiveTextAsync(socket), Is.EqualTo("tick"));
            }

            messages++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(socket.State, Is.EqualTo(WebSocketState.Open));
            Assert.That(Upstream(gateway).Metrics.ActiveTunnels, Is.EqualTo(1));
            Assert.That(Upstream(gateway).Metrics.GetErrorCount(GatewayErrorReason.TunnelIdleTimeout), Is.Zero);
            Assert.That(messages, Is.GreaterThan(10));
        });

        // These endpoints do not answer a close handshake; dropping the connection ends the tunnel.
        socket.Abort();
        Assert.That(await Eventually.HoldsAsync(() => Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
    }

    [Test]
    public async Task Tunnel_MaxLifetime_ClosedWhileBusy()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress, idle: "00:00:00", lifetime: "00:00:00.500"));
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress, "/api/ai/ticks");
        var opened = DateTime.UtcNow;

        Assert.That(await TunnelClient.IsCutAsync(socket, TunnelClient.Bound), Is.True);
        var lasted = DateTime.UtcNow - opened;
        Assert.That(await Eventually.HoldsAsync(() => upstream.Open == 0 && Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(lasted, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(450)));
            Assert.That(Upstream(gateway).Metrics.GetErrorCount(GatewayErrorReason.TunnelLifetime), Is.EqualTo(1));
            Assert.That(Upstream(gateway).Metrics.GetErrorCount(GatewayErrorReason.TunnelIdleTimeout), Is.Zero);
        });
    }

    [Test]
    public async Task Tunnel_ClientCloses_UpstreamSeesCloseAndSlotIsReleased()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress);
        await TunnelClient.SendTextAsync(socket, "x");
        await TunnelClient.ReceiveTextAsync(socket);

        await TunnelClient.CloseAsync(socket);

        Assert.That(await Eventually.HoldsAsync(() => upstream.Open == 0 && Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(socket.State, Is.EqualTo(WebSocketState.Closed));
            Assert.That(socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure), "the upstream's close frame came back through the tunnel");
            Assert.That(Upstream(gateway).Metrics.GetRequestCount(101), Is.EqualTo(1));
            Assert.That(gateway.GetRequiredService<BytesPool>().OutstandingCount, Is.Zero);
        });
    }

    [Test]
    public async Task Tunnel_UpstreamCloses_ClientGetsTheCloseFrameUnchanged()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress, "/api/ai/close");

        await TunnelClient.SendTextAsync(socket, "anything");
        var (type, _) = await TunnelClient.ReceiveAsync(socket);

        Assert.Multiple(() =>
        {
            Assert.That(type, Is.EqualTo(WebSocketMessageType.Close));
            Assert.That(socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
            Assert.That(socket.CloseStatusDescription, Is.EqualTo("bye"));
        });
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(TunnelClient.Bound);
        Assert.That(await Eventually.HoldsAsync(() => Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
    }

    [Test]
    public async Task Tunnel_ClientResets_UpstreamConnectionEndsCountedAsClientAborted()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.BaseAddress.Port).WaitAsync(TunnelClient.Bound);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(UpgradeRequest(gateway.BaseAddress, "/api/ai/sink")));
        var head = await RawConnection.ReadHeadAsync(stream, CancellationToken.None).WaitAsync(TunnelClient.Bound);
        Assert.That(head, Does.StartWith("HTTP/1.1 101"));
        Assert.That(await Eventually.HoldsAsync(() => upstream.Open == 1), Is.True);

        client.Client.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        client.Client.Close();

        Assert.That(await Eventually.HoldsAsync(() => upstream.Open == 0 && Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(Upstream(gateway).Metrics.GetErrorCount(GatewayErrorReason.ClientAborted), Is.EqualTo(1));
            Assert.That(gateway.GetRequiredService<BytesPool>().OutstandingCount, Is.Zero);
        });
    }

    [Test]
    public async Task Tunnel_UpstreamResets_ClientIsCutCountedAsUpstreamAborted()
    {
        var upstreamGotMessage = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = RawUpstream.Start(async connection =>
        {
            var head = await connection.ReadRequestHeadAsync() ?? throw new IOException("no request");
            var key = RawHttp.Header(head, "Sec-WebSocket-Key");
            var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            await connection.WriteAsync($"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
            var frame = new byte[64];
            await connection.Stream.ReadAtLeastAsync(frame, 1, throwOnEndOfStream: false, connection.Stopping);
            upstreamGotMessage.TrySetResult();
            connection.Reset();
        });
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress);

        await TunnelClient.SendTextAsync(socket, "boom");
        await upstreamGotMessage.Task.WaitAsync(TunnelClient.Bound);

        Assert.That(await TunnelClient.IsCutAsync(socket, TunnelClient.Bound), Is.True);
        Assert.That(await Eventually.HoldsAsync(() => Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(Upstream(gateway).Metrics.GetErrorCount(GatewayErrorReason.UpstreamAborted), Is.EqualTo(1));
            Assert.That(gateway.GetRequiredService<BytesPool>().OutstandingCount, Is.Zero);
        });
    }

    [Test]
    public async Task Shutdown_WithTunnelsOpen_ClosesThemPromptlyAndReleasesEverySlot()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        var pool = gateway.GetRequiredService<BytesPool>();
        var metrics = Upstream(gateway).Metrics;
        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress, "/api/ai/ticks");
                sockets.Add(socket);
                await TunnelClient.ReceiveTextAsync(socket);
            }

            Assert.That(metrics.ActiveTunnels, Is.EqualTo(3));
            var stopping = DateTime.UtcNow;
            await gateway.App.StopAsync().WaitAsync(TunnelClient.Bound);
            var stopped = DateTime.UtcNow - stopping;

            foreach (var socket in sockets)
            {
                Assert.That(await TunnelClient.IsCutAsync(socket, TunnelClient.Bound), Is.True);
            }

            Assert.That(await Eventually.HoldsAsync(() => upstream.Open == 0), Is.True);
            Assert.Multiple(() =>
            {
                Assert.That(stopped, Is.LessThan(TimeSpan.FromSeconds(5)), "tunnels end at ApplicationStopping, not at the shutdown timeout");
                Assert.That(metrics.ActiveTunnels, Is.Zero);
                Assert.That(metrics.GetRequestCount(101), Is.EqualTo(3));
                Assert.That(pool.OutstandingCount, Is.Zero);
            });
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            await gateway.DisposeAsync();
        }
    }

    [Test]
    public async Task Tunnels_ThousandOpenedAndClosed_LeakNoSlotAndNoBuffer()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress, maxConnections: 16));
        var pool = gateway.GetRequiredService<BytesPool>();
        var metrics = Upstream(gateway).Metrics;
        var next = -1;

        // 8 clients at once under a cap of 16: every tunnel is admitted only if every earlier one gave its slot back.
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < 1000)
            {
                using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress);
                await TunnelClient.SendTextAsync(socket, "x");
                await TunnelClient.ReceiveTextAsync(socket);
                await TunnelClient.CloseAsync(socket);
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(await Eventually.HoldsAsync(() => metrics.ActiveTunnels == 0 && upstream.Open == 0), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(metrics.GetRequestCount(101), Is.EqualTo(1000));
            Assert.That(metrics.GetErrorCount(GatewayErrorReason.TunnelLimit), Is.Zero);
            Assert.That(pool.RentCount, Is.GreaterThanOrEqualTo(2000), "both directions copied through pooled buffers");
            Assert.That(pool.OutstandingCount, Is.Zero, "buffers rented minus returned");
            Assert.That(pool.FallbackCount, Is.Zero);
        });
    }

    [Test]
    public async Task Upgrade_WebSocketsDisabled_Gets501AndUpstreamIsNeverAsked()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        var status = await TunnelClient.ConnectRefusedAsync(gateway.BaseAddress);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.NotImplemented));
            Assert.That(upstream.UpgradeRequests, Is.Zero);
            Assert.That(Upstream(gateway).Metrics.GetErrorCount(GatewayErrorReason.UpgradeRejected), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Upgrade_OtherProtocolWithWebSocketsEnabled_StillGets501()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));

        var response = await RawHttp.SendAsync(gateway.BaseAddress, $"GET /api/ai/ws HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\nConnection: Upgrade\r\nUpgrade: TLS/1.2\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(501));
            Assert.That(response.Body, Does.Contain("\"reason\":\"upgrade_rejected\""));
            Assert.That(upstream.UpgradeRequests, Is.Zero);
        });
    }

    [Test]
    public async Task Tunnel_Open_GaugeCountsItUntilItEnds()
    {
        await using var upstream = await WebSocketTestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Tunnels(upstream.BaseAddress));
        var collector = gateway.GetRequiredService<MetricsCollector>();
        using var socket = await TunnelClient.ConnectAsync(gateway.BaseAddress);

        var whileOpen = collector.RenderPrometheusText();
        await TunnelClient.CloseAsync(socket);
        Assert.That(await Eventually.HoldsAsync(() => Upstream(gateway).Metrics.ActiveTunnels == 0), Is.True);
        var afterwards = collector.RenderPrometheusText();

        Assert.Multiple(() =>
        {
            Assert.That(whileOpen, Does.Contain("hardened_gateway_tunnels_active{proxy=\"ai\"} 1\n"));
            Assert.That(whileOpen, Does.Not.Contain("code=\"101\""), "a tunnel counts in requests_total when it is over");
            Assert.That(afterwards, Does.Contain("hardened_gateway_tunnels_active{proxy=\"ai\"} 0\n"));
            Assert.That(afterwards, Does.Contain("hardened_gateway_requests_total{proxy=\"ai\",code=\"101\"} 1\n"));
        });
    }

    internal static string UpgradeRequest(Uri gateway, string target) =>
        $"GET {target} HTTP/1.1\r\nHost: {gateway.Authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
}
