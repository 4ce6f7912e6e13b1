using System.IO.Compression;
using System.Net;
using System.Text.Json;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.Forwarding;

/// <summary>DESIGN.md "Forwarding rules" for headers: hop-by-hop both ways, Host, X-Forwarded-*, traceparent, redirects, encodings.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class HeaderRulesTests
{
    private static readonly string[] RequestHopByHop = ["Connection", "X-Hop", "Keep-Alive", "Proxy-Authorization", "TE", "Trailer", "Upgrade", "Proxy-Connection"];

    private TestUpstream _echo = null!;
    private TestGateway _gateway = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        // Echoes every request header it received as a JSON object.
        _echo = await TestUpstream.StartAsync(app => app.Map("/{**rest}", (HttpContext context) =>
            Results.Json(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase))));
        _gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(_echo.BaseAddress));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
        await _echo.DisposeAsync();
    }

    [Test]
    public async Task Get_HopByHopRequestHeaders_AreDroppedAndOthersForwarded()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/headers", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Connection", "X-Hop");
        request.Headers.TryAddWithoutValidation("X-Hop", "named in Connection");
        request.Headers.TryAddWithoutValidation("Keep-Alive", "timeout=5");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic c2VjcmV0");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        request.Headers.TryAddWithoutValidation("Trailer", "X-Checksum");
        request.Headers.TryAddWithoutValidation("Proxy-Connection", "keep-alive");
        request.Headers.TryAddWithoutValidation("Upgrade", "h2c");
        request.Headers.TryAddWithoutValidation("X-End-To-End", "kept");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer end-to-end");

        var headers = await SendAndReadEchoAsync(request);

        Assert.Multiple(() =>
        {
            foreach (var name in RequestHopByHop)
            {
                Assert.That(headers.Keys, Has.No.Member(name).Using((IEqualityComparer<string>)StringComparer.OrdinalIgnoreCase), name);
            }

            Assert.That(headers["X-End-To-End"], Is.EqualTo("kept"));
            Assert.That(headers["Authorization"], Is.EqualTo("Bearer end-to-end"));
        });
    }

    [Test]
    public async Task Get_HostAndForwardedHeaders_DescribeUpstreamAndClient()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/headers", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7, 198.51.100.1");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "spoofed.example");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");

        var headers = await SendAndReadEchoAsync(request);

        Assert.Multiple(() =>
        {
            Assert.That(headers["Host"], Is.EqualTo(_echo.BaseAddress.Authority));
            Assert.That(headers["X-Forwarded-For"], Is.EqualTo("203.0.113.7, 198.51.100.1, 127.0.0.1"), "the client's address is appended to the existing chain");
            Assert.That(headers["X-Forwarded-Host"], Is.EqualTo(_gateway.BaseAddress.Authority));
            Assert.That(headers["X-Forwarded-Proto"], Is.EqualTo("http"));
        });
    }

    [Test]
    public async Task Get_WithoutForwardedFor_StartsTheChain()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/headers", UriKind.Relative));

        var headers = await SendAndReadEchoAsync(request);

        Assert.That(headers["X-Forwarded-For"], Is.EqualTo("127.0.0.1"));
    }

    [Test]
    public async Task Get_Traceparent_IsPropagated()
    {
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/headers", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");
        request.Headers.TryAddWithoutValidation("tracestate", "vendor=value");

        var headers = await SendAndReadEchoAsync(request);

        Assert.Multiple(() =>
        {
            Assert.That(headers["traceparent"], Does.StartWith($"00-{TraceId}-"));
            Assert.That(headers["tracestate"], Is.EqualTo("vendor=value"));
        });
    }

    [Test]
    public async Task Get_HopByHopResponseHeaders_AreDroppedAndOthersPassed()
    {
        await using var upstream = RawUpstream.Answering(
            "HTTP/1.1 200 OK\r\n" +
            "Content-Type: text/plain\r\n" +
            "Content-Length: 2\r\n" +
            "Connection: X-Secret, close\r\n" +
            "X-Secret: named in Connection\r\n" +
            "Keep-Alive: timeout=5\r\n" +
            "Proxy-Authenticate: Basic realm=\"upstream\"\r\n" +
            "Proxy-Connection: keep-alive\r\n" +
            "Trailer: X-Checksum\r\n" +
            "Upgrade: h2c\r\n" +
            "X-End-To-End: kept\r\n" +
            "Set-Cookie: a=1\r\n" +
            "\r\nok");
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        var response = await RawHttp.GetAsync(gateway.BaseAddress, "/api/ai/x");

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.Body, Is.EqualTo("ok"));
            foreach (var name in new[] { "X-Secret", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Trailer", "Upgrade" })
            {
                Assert.That(RawHttp.Header(response.Head, name), Is.Null, name);
            }

            Assert.That(RawHttp.Header(response.Head, "Connection") ?? string.Empty, Does.Not.Contain("X-Secret"));
            Assert.That(RawHttp.Header(response.Head, "X-End-To-End"), Is.EqualTo("kept"));
            Assert.That(RawHttp.Header(response.Head, "Set-Cookie"), Is.EqualTo("a=1"));
        });
    }

    [Test]
    public async Task Get_UpstreamRedirects_LocationPassesUnchangedAndIsNotFollowed()
    {
        var followed = 0;
        await using var upstream = await TestUpstream.StartAsync(app =>
        {
            app.MapGet("/base/login", () =>
            {
                Interlocked.Increment(ref followed);
                return "followed";
            });
            app.MapGet("/base/old", () => Results.Redirect("/base/login?next=%2Fhome"));
            app.MapGet("/base/absolute", (HttpContext context) => Results.Redirect($"http://{context.Request.Host}/base/login"));
        });
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(new Uri(upstream.BaseAddress, "/base/")));

        using var relative = await gateway.Client.GetAsync(new Uri("/api/ai/old", UriKind.Relative));
        using var absolute = await gateway.Client.GetAsync(new Uri("/api/ai/absolute", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(relative.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(relative.Headers.Location?.OriginalString, Is.EqualTo("/base/login?next=%2Fhome"));
            Assert.That(absolute.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(absolute.Headers.Location?.OriginalString, Is.EqualTo($"http://{upstream.BaseAddress.Authority}/base/login"));
            Assert.That(followed, Is.Zero);
        });
    }

    [Test]
    public async Task Get_GzipResponse_IsPassedCompressedByteForByte()
    {
        var payload = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("token ", 2000)));
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(payload);
        }

        var gzipped = compressed.ToArray();
        string? acceptEncoding = null;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            acceptEncoding = context.Request.Headers.AcceptEncoding;
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = gzipped.Length;
            await context.Response.Body.WriteAsync(gzipped, context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/gz", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var response = await gateway.Client.SendAsync(request);
        var received = await response.Content.ReadAsByteArrayAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentEncoding, Is.EqualTo(new[] { "gzip" }));
            Assert.That(response.Content.Headers.ContentLength, Is.EqualTo(gzipped.Length));
            Assert.That(received, Is.EqualTo(gzipped));
            Assert.That(acceptEncoding, Is.EqualTo("gzip"));
        });
    }

    [Test]
    public async Task Post_GzipRequestBody_ReachesUpstreamUndecompressed()
    {
        byte[]? received = null;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/{**rest}", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            received = buffer.ToArray();
            return context.Request.Headers.ContentEncoding.ToString();
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));
        var body = new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3 };

        using var content = new ByteArrayContent(body);
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await gateway.Client.PostAsync(new Uri("/api/ai/upload", UriKind.Relative), content);

        Assert.Multiple(async () =>
        {
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("gzip"));
            Assert.That(received, Is.EqualTo(body));
        });
    }

    [Test]
    public async Task Get_UpstreamStatusHeadersAndBody_PassThroughUnchanged()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", (HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status418ImATeapot;
            context.Response.Headers["X-Multi"] = new Microsoft.Extensions.Primitives.StringValues(["a", "b"]);
            context.Response.Headers.ETag = "\"v1\"";
            return context.Response.WriteAsync("short and stout");
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/teapot", UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(418));
            Assert.That(response.Headers.GetValues("X-Multi"), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(response.Headers.ETag?.Tag, Is.EqualTo("\"v1\""));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("short and stout"));
        });
    }

    private async Task<Dictionary<string, string>> SendAndReadEchoAsync(HttpRequestMessage request)
    {
        using var response = await _gateway.Client.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json);
        return new Dictionary<string, string>(JsonSerializer.Deserialize<Dictionary<string, string>>(json)!, StringComparer.OrdinalIgnoreCase);
    }
}
