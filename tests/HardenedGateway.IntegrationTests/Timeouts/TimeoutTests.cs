using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.Timeouts;

/// <summary>T057: dial and response-header timeouts give 504; a per-proxy 0 waits (EC-001, FR-001, FR-002, FR-004).</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class TimeoutTests
{
    [Test]
    public async Task Get_UpstreamBacklogFull_DialTimeoutGives504()
    {
        using var backlog = await FullBacklog.CreateAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(backlog.Address).WithTransport("DialTimeout", "00:00:00.300"));

        var stopwatch = Stopwatch.StartNew();
        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));
        stopwatch.Stop();

        var problem = await Problem.ReadAsync(response, HttpStatusCode.GatewayTimeout);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("upstream_timeout"));
            Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "the 300 ms dial timeout, not a default, ended the attempt");
        });
    }

    [Test]
    public async Task Get_ProxyResponseHeaderTimeoutElapses_Gives504AndCancelsUpstream()
    {
        var upstreamAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                upstreamAborted.TrySetResult();
            }
        }));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("ResponseHeaderTimeout", "00:00:00.300"));

        var stopwatch = Stopwatch.StartNew();
        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/slow", UriKind.Relative));
        stopwatch.Stop();

        var problem = await Problem.ReadAsync(response, HttpStatusCode.GatewayTimeout);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Reason, Is.EqualTo("upstream_timeout"));
            Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)));
        });
        Assert.That(async () => await upstreamAborted.Task.WaitAsync(TimeSpan.FromSeconds(5)), Throws.Nothing, "the gateway gave up on the upstream call");
    }

    [Test]
    public async Task Get_TransportResponseHeaderTimeoutElapses_Gives504()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", (HttpContext context) =>
            Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted)));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).WithTransport("ResponseHeaderTimeout", "00:00:00.300"));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/slow", UriKind.Relative));

        var problem = await Problem.ReadAsync(response, HttpStatusCode.GatewayTimeout);
        Assert.That(problem.Reason, Is.EqualTo("upstream_timeout"));
    }

    [Test]
    public async Task Get_ProxyResponseHeaderTimeoutZero_WaitsForSlowUpstream()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(600), context.RequestAborted);
            return "thought long";
        }));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress)
                .WithTransport("ResponseHeaderTimeout", "00:00:00.200")
                .With("ResponseHeaderTimeout", "00:00:00"));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/think", UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("thought long"));
        });
    }

    /// <summary>A loopback listener whose accept backlog is full, so a new connect hangs (no SYN-ACK).</summary>
    private sealed class FullBacklog : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _clients = [];

        private FullBacklog(Socket listener) => _listener = listener;

        public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}/");

        public static async Task<FullBacklog> CreateAsync()
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var backlog = new FullBacklog(listener);

            // Full once two connects in a row hang (one slow connect on a busy machine is not proof).
            var hung = 0;
            for (var i = 0; i < 64; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(250));
                try
                {
                    await client.ConnectAsync(listener.LocalEndPoint!, attempt.Token);
                    backlog._clients.Add(client);
                    hung = 0;
                }
                catch (OperationCanceledException)
                {
                    client.Dispose();
                    if (++hung == 2)
                    {
                        return backlog;
                    }
                }
            }

            backlog.Dispose();
            Assert.Inconclusive("Could not fill a loopback accept backlog on this machine.");
            return null!;
        }

        public void Dispose()
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }

            _listener.Dispose();
        }
    }
}
