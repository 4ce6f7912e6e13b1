using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using HardenedGateway.Forwarding;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HardenedGateway.Tests.Forwarding;

/// <summary>
/// The cached problem bodies of issue 16: byte for byte what the field-by-field writer produced, with
/// the trace id of the request and a Content-Length, for every kind of trace id.
/// </summary>
[TestFixture]
public sealed class ProblemResponsesTests
{
    [TestCase(ActivityTraceFlags.None)]
    [TestCase(ActivityTraceFlags.Recorded)]
    public async Task WriteAsync_W3CActivity_BodyIsTheFieldByFieldBodyWithActivityIdAndContentLength(ActivityTraceFlags flags)
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = flags;
        activity.Start();
        var (context, body) = CreateContext();

        await ProblemResponses.WriteAsync(context, GatewayErrorReason.ConcurrencyLimit, "ai", "7");
        var written = await ReadBodyAsync(context, body);

        var expected = FieldByField(429, "Too Many Requests", "The upstream's concurrency limit is reached; retry after the time in Retry-After.", "ai", "concurrency_limit", activity.Id!);
        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(expected));
            Assert.That(context.Response.ContentLength, Is.EqualTo(expected.Length));
            Assert.That(context.Response.StatusCode, Is.EqualTo(429));
            Assert.That(context.Response.ContentType, Is.EqualTo("application/problem+json"));
            Assert.That(context.Response.Headers.RetryAfter.ToString(), Is.EqualTo("7"));
            Assert.That(context.Response.Headers.CacheControl.ToString(), Is.EqualTo("no-store"));
        });
    }

    [Test]
    public async Task WriteAsync_OpenCircuit_BodyAndHeadersOfA503()
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C).Start();
        var (context, body) = CreateContext();

        await ProblemResponses.WriteAsync(context, GatewayErrorReason.CircuitOpen, "ai", "30", "open");
        var written = await ReadBodyAsync(context, body);

        var expected = FieldByField(503, "Service Unavailable", "The upstream's circuit breaker is open after repeated failures; retry after the time in Retry-After.", "ai", "circuit_open", activity.Id!);
        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(expected));
            Assert.That(context.Response.ContentLength, Is.EqualTo(expected.Length));
            Assert.That(context.Response.Headers["X-Circuit-Breaker"].ToString(), Is.EqualTo("open"));
            Assert.That(context.Response.Headers.RetryAfter.ToString(), Is.EqualTo("30"));
        });
    }

    [Test]
    public async Task WriteAsync_HierarchicalActivity_TraceIdIsActivityId()
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.Hierarchical).Start();
        var (context, body) = CreateContext();

        await ProblemResponses.WriteAsync(context, GatewayErrorReason.UpgradeRejected, "ai");
        var written = await ReadBodyAsync(context, body);

        Assert.That(TraceId(written), Is.EqualTo(activity.Id));
    }

    [Test]
    public async Task WriteAsync_NoActivity_TraceIdIsTraceIdentifier()
    {
        var (context, body) = CreateContext();
        context.TraceIdentifier = "0HN8ABCDEF:00000001";

        await ProblemResponses.WriteAsync(context, GatewayErrorReason.ConcurrencyLimit, "ai", "1");
        var written = await ReadBodyAsync(context, body);

        Assert.That(written, Is.EqualTo(FieldByField(429, "Too Many Requests", "The upstream's concurrency limit is reached; retry after the time in Retry-After.", "ai", "concurrency_limit", "0HN8ABCDEF:00000001")));
    }

    [Test]
    public async Task WriteAsync_TraceIdentifierThatNeedsEscaping_IsEscapedAsBefore()
    {
        var (context, body) = CreateContext();
        context.TraceIdentifier = "id \"with\" <quotes>";

        await ProblemResponses.WriteAsync(context, GatewayErrorReason.ConcurrencyLimit, "ai", "1");
        var written = await ReadBodyAsync(context, body);

        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(FieldByField(429, "Too Many Requests", "The upstream's concurrency limit is reached; retry after the time in Retry-After.", "ai", "concurrency_limit", "id \"with\" <quotes>")));
            Assert.That(TraceId(written), Is.EqualTo("id \"with\" <quotes>"));
        });
    }

    [Test]
    public async Task WriteRequestBodyRejectedAsync_413_NoReasonAndContentLength()
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C).Start();
        var (context, body) = CreateContext();

        await ProblemResponses.WriteRequestBodyRejectedAsync(context, 413, "ai");
        var written = await ReadBodyAsync(context, body);

        var expected = FieldByField(413, "Content Too Large", "The request body is larger than the server accepts (Kestrel's MaxRequestBodySize).", "ai", null, activity.Id!);
        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(expected));
            Assert.That(context.Response.ContentLength, Is.EqualTo(expected.Length));
        });
    }

    [Test]
    public void Seconds_AboveTheCachedRange_SameValueSharesOneString()
    {
        var first = ProblemResponses.Seconds(86_400);
        var second = ProblemResponses.Seconds(86_400);
        var next = ProblemResponses.Seconds(86_399);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo("86400"));
            Assert.That(second, Is.SameAs(first));
            Assert.That(next, Is.EqualTo("86399"));
        });
    }

    private static (DefaultHttpContext Context, MemoryStream Body) CreateContext()
    {
        var body = new MemoryStream();
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature());
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        return (new DefaultHttpContext(features), body);
    }

    /// <summary>Kestrel's end of request: what was written is flushed.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpContext context, MemoryStream body)
    {
        await context.Response.BodyWriter.FlushAsync();
        return body.ToArray();
    }

    /// <summary>The body as the gateway wrote it before issue 16: field by field with the default encoder.</summary>
    private static byte[] FieldByField(int status, string title, string detail, string proxy, string? reason, string traceId)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", status switch
            {
                413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
                429 => "https://tools.ietf.org/html/rfc6585#section-4",
                _ => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            });
            writer.WriteString("title", title);
            writer.WriteNumber("status", status);
            writer.WriteString("detail", detail);
            writer.WriteString("proxy", proxy);
            if (reason is not null)
            {
                writer.WriteString("reason", reason);
            }

            writer.WriteString("traceId", traceId);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string? TraceId(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("traceId").GetString();
    }
}
