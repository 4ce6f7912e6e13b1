using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.Streaming;

/// <summary>When the client is the silent side, the exchange ends but the upstream is not blamed (no breaker failure).</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class SilentClientTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Post_ClientStallsUploadLongerThanIdleTimeout_Gets408AndBreakerIsNotBlamed()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/{**rest}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            return await reader.ReadToEndAsync(context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("StreamIdleTimeout", "00:00:00.300").WithBreaker(1, TimeSpan.FromMinutes(5)));
        var breaker = Breaker(gateway);

        // A raw client: HttpClient reads no response before its own upload ends.
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.BaseAddress.Port).WaitAsync(Bound);
        var stream = client.GetStream();
        var head = $"POST /api/ai/upload HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n{new string('x', 100)}\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        using var timeout = new CancellationTokenSource(Bound);
        var responseHead = await RawConnection.ReadHeadAsync(stream, timeout.Token);

        Assert.Multiple(() =>
        {
            Assert.That(responseHead, Does.StartWith("HTTP/1.1 408 "));
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed), "a silent client is not an upstream failure");
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
        });
    }

    [Test]
    public async Task Get_ClientStopsReadingLongerThanIdleTimeout_ExchangeEndsAndBreakerIsNotBlamed()
    {
        var upstreamAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            // Kestrel turns writes after a disconnect into no-ops, so the abort itself is what tells:
            // stay in the request until it comes.
            using var registration = context.RequestAborted.Register(upstreamAborted.SetResult);
            context.Response.ContentType = "application/octet-stream";
            var chunk = new byte[64 * 1024];
            try
            {
                // Far more than loopback can hold in flight.
                for (var i = 0; i < 16 * 1024 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }

                await Task.Delay(Bound, context.RequestAborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }
        }));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("StreamIdleTimeout", "00:00:00.300").WithBreaker(1, TimeSpan.FromMinutes(5)));
        var breaker = Breaker(gateway);

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/download", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        await body.ReadExactlyAsync(new byte[1024]);

        // Stop reading: the gateway's writes to this client block until its idle timer ends the exchange.
        Assert.That(async () => await upstreamAborted.Task.WaitAsync(Bound), Throws.Nothing, "the exchange was ended while the client was not reading");
        Assert.That(async () => await body.CopyToAsync(Stream.Null).WaitAsync(Bound), Throws.InstanceOf<IOException>(), "the cut response is never passed off as complete");
        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed), "a client that stops reading is not an upstream failure");
            Assert.That(breaker.ConsecutiveFailures, Is.Zero);
        });
    }

    private static CircuitBreaker Breaker(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
        return ai!.CircuitBreaker!;
    }
}
