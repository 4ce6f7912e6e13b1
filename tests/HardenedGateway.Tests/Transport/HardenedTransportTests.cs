using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HardenedGateway.Transport;

namespace HardenedGateway.Tests.Transport;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class HardenedTransportTests
{
    private static readonly TimeSpan WaitBound = TimeSpan.FromSeconds(10);

    [Test]
    public void CreateHandler_NoOptions_UsesHardenedDefaults()
    {
        using var handler = HardenedTransport.CreateHandler();

        Assert.Multiple(() =>
        {
            Assert.That(handler.ConnectTimeout, Is.EqualTo(TimeSpan.FromSeconds(7)), "dial 2 s + TLS handshake 5 s");
            Assert.That(handler.PooledConnectionIdleTimeout, Is.EqualTo(TimeSpan.FromSeconds(90)));
            Assert.That(handler.PooledConnectionLifetime, Is.EqualTo(TimeSpan.FromMinutes(5)));
            Assert.That(handler.Expect100ContinueTimeout, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(handler.AllowAutoRedirect, Is.False);
            Assert.That(handler.UseCookies, Is.False);
            Assert.That(handler.AutomaticDecompression, Is.EqualTo(DecompressionMethods.None));
            Assert.That(handler.UseProxy, Is.True);
            Assert.That(handler.EnableMultipleHttp2Connections, Is.True);
            Assert.That(handler.ActivityHeadersPropagator, Is.Null);
            Assert.That(handler.ConnectCallback, Is.Not.Null);
        });
    }

    [Test]
    public void CreateHandler_CustomOptions_MapsEachSetting()
    {
        var options = new TransportOptions
        {
            DialTimeout = TimeSpan.FromMilliseconds(1500),
            TlsHandshakeTimeout = TimeSpan.FromSeconds(3),
            IdleConnectionTimeout = TimeSpan.FromSeconds(42),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ExpectContinueTimeout = TimeSpan.Zero,
            EnableHttp2 = false,
            UseSystemProxy = false,
        };

        using var handler = HardenedTransport.CreateHandler(options);

        Assert.Multiple(() =>
        {
            Assert.That(handler.ConnectTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(4500)));
            Assert.That(handler.PooledConnectionIdleTimeout, Is.EqualTo(TimeSpan.FromSeconds(42)));
            Assert.That(handler.PooledConnectionLifetime, Is.EqualTo(TimeSpan.FromMinutes(2)));
            Assert.That(handler.Expect100ContinueTimeout, Is.EqualTo(TimeSpan.Zero));
            Assert.That(handler.EnableMultipleHttp2Connections, Is.False);
            Assert.That(handler.UseProxy, Is.False);
            Assert.That(handler.AllowAutoRedirect, Is.False);
        });
    }

    [Test]
    public void TransportOptions_Defaults_MatchTheContract()
    {
        var options = new TransportOptions();

        Assert.Multiple(() =>
        {
            Assert.That(options.DialTimeout, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(options.TlsHandshakeTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(options.KeepAlive, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.ResponseHeaderTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.IdleConnectionTimeout, Is.EqualTo(TimeSpan.FromSeconds(90)));
            Assert.That(options.ExpectContinueTimeout, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(options.PooledConnectionLifetime, Is.EqualTo(TimeSpan.FromMinutes(5)));
            Assert.That(options.EnableHttp2, Is.True);
            Assert.That(options.UseSystemProxy, Is.True);
        });
    }

    [TestCase(300)]
    [TestCase(2000)] // the default (FR-001)
    public async Task SendAsync_UpstreamBacklogFull_FailsWithDialTimeoutAfterDialTimeout(int dialMilliseconds)
    {
        var dialTimeout = TimeSpan.FromMilliseconds(dialMilliseconds);
        using var listener = await SaturatedListener.CreateAsync();
        var options = new TransportOptions { UseSystemProxy = false };
        if (dialMilliseconds != 2000)
        {
            options.DialTimeout = dialTimeout;
        }

        using var invoker = new HttpMessageInvoker(HardenedTransport.CreateHandler(options));
        using var request = new HttpRequestMessage(HttpMethod.Get, listener.Uri);
        var stopwatch = Stopwatch.StartNew();

        var exception = Assert.ThrowsAsync<HttpRequestException>(() => invoker.SendAsync(request, CancellationToken.None).WaitAsync(WaitBound));
        stopwatch.Stop();

        Assert.Multiple(() =>
        {
            Assert.That(InnerExceptions(exception), Has.Some.TypeOf<UpstreamDialTimeoutException>().And.InstanceOf<TimeoutException>());
            Assert.That(stopwatch.Elapsed, Is.GreaterThanOrEqualTo(dialTimeout * 0.8).And.LessThan(dialTimeout * 5));
        });
    }

    [Test]
    public async Task SendAsync_CallerCancelsDuringDial_ThrowsCancellationNotDialTimeout()
    {
        using var listener = await SaturatedListener.CreateAsync();
        using var invoker = new HttpMessageInvoker(HardenedTransport.CreateHandler(new TransportOptions { DialTimeout = TimeSpan.FromSeconds(30), UseSystemProxy = false }));
        using var request = new HttpRequestMessage(HttpMethod.Get, listener.Uri);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var stopwatch = Stopwatch.StartNew();

        var exception = Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), () => invoker.SendAsync(request, cancellation.Token).WaitAsync(WaitBound));
        stopwatch.Stop();

        Assert.Multiple(() =>
        {
            Assert.That(InnerExceptions(exception!), Has.None.TypeOf<UpstreamDialTimeoutException>());
            Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        });
    }

    [Test]
    public void SendAsync_UpstreamRefuses_FailsFastWithSocketError()
    {
        // Bound but not listening: the kernel answers the SYN with a reset, and the port stays ours.
        using var closedPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closedPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)closedPort.LocalEndPoint!).Port;
        using var invoker = new HttpMessageInvoker(HardenedTransport.CreateHandler(new TransportOptions { UseSystemProxy = false }));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{port}/"));

        var exception = Assert.ThrowsAsync<HttpRequestException>(() => invoker.SendAsync(request, CancellationToken.None).WaitAsync(WaitBound));

        Assert.That(
            InnerExceptions(exception).OfType<SocketException>().Select(e => e.SocketErrorCode),
            Has.Some.EqualTo(SocketError.ConnectionRefused));
    }

    [Test]
    public async Task SendAsync_100SequentialRequestsToOneUpstream_ReuseConnections()
    {
        await using var upstream = await LoopbackUpstream.StartAsync();
        using var invoker = new HttpMessageInvoker(HardenedTransport.CreateHandler(new TransportOptions { UseSystemProxy = false }));
        var statuses = new List<HttpStatusCode>();

        for (var i = 0; i < 100; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(upstream.BaseAddress, $"item/{i}"));
            using var response = await invoker.SendAsync(request, CancellationToken.None).WaitAsync(WaitBound);
            await response.Content.ReadAsStringAsync();
            statuses.Add(response.StatusCode);
        }

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Has.Count.EqualTo(100).And.All.EqualTo(HttpStatusCode.OK));
            Assert.That(upstream.AcceptedConnections, Is.InRange(1, 10), "SC-001: more than 90 % of the requests reuse a connection");
        });
    }

    [TestCase(45, 45)]
    [TestCase(1.5, 2)] // whole seconds, rounded up
    public async Task SendAsync_ConnectedSocket_HasTcpKeepAlive(double keepAliveSeconds, int expectedSeconds)
    {
        await using var upstream = await LoopbackUpstream.StartAsync();
        var handler = HardenedTransport.CreateHandler(new TransportOptions { KeepAlive = TimeSpan.FromSeconds(keepAliveSeconds), UseSystemProxy = false });
        var connect = handler.ConnectCallback!;
        Socket? connected = null;
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var stream = await connect(context, cancellationToken);
            connected = ((NetworkStream)stream).Socket;
            return stream;
        };
        using var invoker = new HttpMessageInvoker(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, upstream.BaseAddress);

        using var response = await invoker.SendAsync(request, CancellationToken.None).WaitAsync(WaitBound);

        Assert.That(connected, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(connected!.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive), Is.Not.EqualTo(0));
            Assert.That(connected.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime), Is.EqualTo(expectedSeconds));
            Assert.That(connected.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval), Is.EqualTo(expectedSeconds));
            Assert.That(connected.NoDelay, Is.True);
        });
    }

    [Test]
    public void UpstreamDialTimeoutException_Message_NamesEndPointAndTimeout()
    {
        var exception = new UpstreamDialTimeoutException(new DnsEndPoint("upstream.local", 8080), TimeSpan.FromSeconds(2));

        Assert.Multiple(() =>
        {
            Assert.That(exception, Is.InstanceOf<TimeoutException>());
            Assert.That(exception.Message, Is.EqualTo("Connecting to upstream.local:8080 timed out after 2000 ms."));
        });
    }

    private static IEnumerable<Exception> InnerExceptions(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}
