using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HardenedGateway.IntegrationTests.Forwarding;

/// <summary>Answers without a body, Expect: 100-continue, and unusual but legal request targets pass through unchanged.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class PassThroughTests
{
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _upstream = await TestUpstream.StartAsync(app =>
        {
            app.MapMethods("/sized", ["HEAD", "GET"], (HttpContext context) =>
            {
                context.Response.ContentLength = 100;
                return HttpMethods.IsGet(context.Request.Method) ? context.Response.WriteAsync(new string('x', 100)) : Task.CompletedTask;
            });
            app.MapGet("/no-content", () => Results.NoContent());
            app.MapGet("/not-modified", (HttpContext context) =>
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                context.Response.Headers.ETag = "\"v1\"";
            });
            app.MapPost("/expect", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                return $"{await reader.ReadToEndAsync()}|{context.Request.Headers.Expect}";
            });
            app.MapFallback((HttpContext context) => context.Response.WriteAsync(context.Features.Get<IHttpRequestFeature>()!.RawTarget));
        });
        _gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(_upstream.BaseAddress));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Test]
    public async Task Head_ContentLengthWithoutBody_PassesThroughAndConnectionStaysUsable()
    {
        using var head = await _gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/api/ai/sized", UriKind.Relative)));
        using var get = await _gateway.Client.GetAsync(new Uri("/api/ai/sized", UriKind.Relative));

        Assert.Multiple(async () =>
        {
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(head.Content.Headers.ContentLength, Is.EqualTo(100));
            Assert.That(await get.Content.ReadAsStringAsync(), Has.Length.EqualTo(100));
        });
    }

    [Test]
    public async Task Get_NoContentAndNotModified_PassThrough()
    {
        using var noContent = await _gateway.Client.GetAsync(new Uri("/api/ai/no-content", UriKind.Relative));
        using var notModified = await _gateway.Client.GetAsync(new Uri("/api/ai/not-modified", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(noContent.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(notModified.StatusCode, Is.EqualTo(HttpStatusCode.NotModified));
            Assert.That(notModified.Headers.ETag?.Tag, Is.EqualTo("\"v1\""));
        });
    }

    [Test]
    public async Task Post_ExpectContinue_BodyArrivesAndHeaderIsForwarded()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/ai/expect", UriKind.Relative)) { Content = new StringContent("hello") };
        request.Headers.ExpectContinue = true;

        using var response = await _gateway.Client.SendAsync(request);

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("hello|100-continue"));
    }

    [TestCase("/api/ai/a\"b{c}|d^e`f", "/a\"b{c}|d^e`f")]
    [TestCase("/api/ai/a%", "/a%")]
    [TestCase("/api/ai/[x]", "/[x]")]
    [TestCase("/api/ai/x?a=%&b=\"", "/x?a=%&b=\"")]
    public async Task Get_UnusualTargetCharacters_AreForwardedAsReceived(string target, string expected)
    {
        var response = await RawHttp.GetAsync(_gateway.BaseAddress, target);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(response.Body, Is.EqualTo(expected));
        });
    }
}
