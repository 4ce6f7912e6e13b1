using System.Net;
using System.Net.Http.Headers;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.Streaming;

/// <summary>Token streaming (T035, T051), StreamIdleTimeout, and upstreams dying mid-body.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class StreamingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Get_EventStream_EventsArriveOneByOne()
    {
        const int Events = 5;
        var gates = Enumerable.Range(0, Events).Select(_ => new Gate()).ToArray();
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            for (var i = 0; i < Events; i++)
            {
                // Each event is written only after the client has read the previous one.
                if (i > 0)
                {
                    await gates[i - 1].WaitAsync(context.RequestAborted);
                }

                await context.Response.WriteAsync($"data: token {i}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/generate", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        for (var i = 0; i < Events; i++)
        {
            Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo($"data: token {i}"), $"event {i} arrived before the next was produced");
            Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.Empty);
            gates[i].Open();
        }

        Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.Null, "the stream ends cleanly");
    }

    [Test]
    public async Task Get_UnknownLengthResponse_ChunksArriveOneByOne()
    {
        var gate = new Gate();
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/x-ndjson";
            await context.Response.WriteAsync("{\"n\":1}\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await gate.WaitAsync(context.RequestAborted);
            await context.Response.WriteAsync("{\"n\":2}\n", context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/generate", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo("{\"n\":1}"));
        gate.Open();
        Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo("{\"n\":2}"));
    }

    [Test]
    public async Task Get_StreamGoesSilentLongerThanIdleTimeout_ClientReadFails()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress).With("StreamIdleTimeout", "00:00:00.300"));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/generate", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo("data: first"));

        Assert.That(async () => await reader.ReadToEndAsync().WaitAsync(Bound), Throws.InstanceOf<IOException>(), "a silent stream is aborted, never passed off as complete");
    }

    [Test]
    public async Task Get_SlowButAliveStreamLongerThanIdleTimeout_IsNeverCut()
    {
        const int Events = 12;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            for (var i = 0; i < Events; i++)
            {
                await context.Response.WriteAsync($"data: {i}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(100, context.RequestAborted);
            }
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress)
            .With("StreamIdleTimeout", "00:00:00.600")
            .WithTransport("ResponseHeaderTimeout", "00:00:00.300"));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/generate", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync().WaitAsync(Bound);

        Assert.That(body, Is.EqualTo(string.Concat(Enumerable.Range(0, Events).Select(i => $"data: {i}\n\n"))),
            "a stream lasting longer than the idle and header timeouts, but never silent for long, arrives whole");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Get_UpstreamDiesMidBodyWithContentLength_ClientReadFailsAndBreakerCountsIt(bool reset)
    {
        await using var upstream = RawUpstream.Start(async connection =>
        {
            await connection.ReadRequestHeadAsync();
            await connection.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n" + new string('x', 100));
            if (reset)
            {
                connection.Reset();
            }
            else
            {
                connection.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
            }
        });
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress).WithBreaker(1, TimeSpan.FromMinutes(1)));

        // Whether the client already had the headers when the gateway aborted is a race; either way
        // it must see a failure, never 100 bytes passed off as the whole body.
        Assert.That(
            async () =>
            {
                using var response = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
                var body = await response.Content.ReadAsByteArrayAsync().WaitAsync(Bound);
                Assert.That(response.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK), $"got a 200 with {body.Length} bytes");
            },
            Throws.InstanceOf<HttpRequestException>().Or.InstanceOf<IOException>());

        using var next = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(next.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "dying mid-body is a breaker failure");
            Assert.That(upstream.AcceptedConnections, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Get_UpstreamDiesMidChunkedBody_ClientReadFails()
    {
        await using var upstream = RawUpstream.Start(async connection =>
        {
            await connection.ReadRequestHeadAsync();
            await connection.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n10\r\ndata: token 1\n\n\r\n");
            await Task.Delay(50);
            connection.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        });
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo("data: token 1"));
        Assert.That(async () => await reader.ReadToEndAsync().WaitAsync(Bound), Throws.InstanceOf<IOException>(), "a truncated chunked body is not a clean end");
    }

    [Test]
    public async Task Post_StreamingRequestBody_ArrivesAtUpstreamBeforeClientFinishes()
    {
        var firstChunkSeen = new Gate();
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/{**rest}", async (HttpContext context) =>
        {
            var buffer = new byte[1024];
            var total = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
                firstChunkSeen.Open();
            }

            return total;
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var content = new PushContent(async stream =>
        {
            await stream.WriteAsync(new byte[100]);
            await stream.FlushAsync();
            await firstChunkSeen.Task.WaitAsync(Bound);
            await stream.WriteAsync(new byte[100]);
        });
        using var response = await gateway.Client.PostAsync(new Uri("/api/ai/upload", UriKind.Relative), content);

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("200"));
    }

    /// <summary>Request content written by a callback, of unknown length (sent chunked).</summary>
    internal sealed class PushContent(Func<Stream, Task> write) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => write(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
