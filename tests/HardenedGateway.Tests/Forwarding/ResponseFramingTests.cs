using System.Net;
using HardenedGateway.Forwarding;

namespace HardenedGateway.Tests.Forwarding;

/// <summary>RS-002: the framing the gateway declares to the client is derived, never copied, and what cannot be forwarded is refused.</summary>
[TestFixture]
public sealed class ResponseFramingTests
{
    [TestCase("5", 5L)]
    [TestCase("5|5", 5L)]
    [TestCase("0", 0L)]
    public void Check_ValidContentLength_DeclaresIt(string values, long expected)
    {
        using var response = Response(HttpStatusCode.OK, contentLength: values.Split('|'));

        var refusal = ResponseFraming.Check(response, 200, out var length);

        Assert.Multiple(() =>
        {
            Assert.That(refusal, Is.Null);
            Assert.That(length, Is.EqualTo(expected));
        });
    }

    [TestCase("5|6")]
    [TestCase("5, 6")]
    [TestCase("5, 5")]
    [TestCase("abc")]
    [TestCase("-1")]
    [TestCase("+5")]
    [TestCase("0x5")]
    [TestCase("99999999999999999999999")]
    public void Check_InvalidOrConflictingContentLength_Refuses(string values)
    {
        using var response = Response(HttpStatusCode.OK, contentLength: values.Split('|'));

        Assert.That(ResponseFraming.Check(response, 200, out _), Is.EqualTo(ResponseFraming.InvalidContentLength));
    }

    [Test]
    public void Check_ChunkedWithContentLength_DeclaresNoLength()
    {
        using var response = Response(HttpStatusCode.OK, contentLength: ["50"], transferEncoding: "chunked");

        var refusal = ResponseFraming.Check(response, 200, out var length);

        Assert.Multiple(() =>
        {
            Assert.That(refusal, Is.Null);
            Assert.That(length, Is.Null, "the chunks frame the body; the length is dropped (RFC 9112 §6.3)");
        });
    }

    [TestCase("gzip, chunked")]
    [TestCase("identity")]
    [TestCase("chunked, chunked")]
    [TestCase("xchunked")]
    public void Check_TransferCodingOtherThanChunked_Refuses(string transferEncoding)
    {
        using var response = Response(HttpStatusCode.OK, contentLength: null, transferEncoding: transferEncoding);

        Assert.That(ResponseFraming.Check(response, 200, out _), Is.EqualTo(ResponseFraming.UnsupportedTransferEncoding));
    }

    [TestCase(0)]
    [TestCase(99)]
    [TestCase(101)]
    [TestCase(150)]
    public void Check_StatusOutside200To999_Refuses(int status)
    {
        using var response = Response((HttpStatusCode)status, contentLength: ["2"]);

        Assert.That(ResponseFraming.Check(response, status, out _), Is.EqualTo(ResponseFraming.InvalidStatus));
    }

    [Test]
    public void Check_204WithLength_DeclaresNone()
    {
        using var response = Response(HttpStatusCode.NoContent, contentLength: ["8"]);

        var refusal = ResponseFraming.Check(response, 204, out var length);

        Assert.Multiple(() =>
        {
            Assert.That(refusal, Is.Null);
            Assert.That(length, Is.Null);
        });
    }

    [TestCase("../secret", true)]
    [TestCase("..;/secret", true)]
    [TestCase("..;x=y/secret", true)]
    [TestCase("%2e%2e;x/secret", true)]
    [TestCase("a..;b/secret", false)]
    [TestCase("a;..", false)]
    [TestCase("%252e%252e/secret", false)]
    public void ClimbsAboveBase_PathParameterAfterDotDot_IsAClimb(string remainder, bool climbs) =>
        Assert.That(ForwardingPath.ClimbsAboveBase(remainder), Is.EqualTo(climbs));

    [Test]
    public void ClassifySendFailure_ResponseHeadersOverLimit_IsBadUpstreamResponse() =>
        Assert.That(
            OutcomeClassifier.ClassifySendFailure(new HttpRequestException(HttpRequestError.ConfigurationLimitExceeded, "over the limit"), clientCanceled: false, gatewayTimeoutFired: false),
            Is.EqualTo(GatewayErrorReason.BadUpstreamResponse));

    [TestCase("Received an invalid header line: 'Set-Cookie session=secret'.", "Received an invalid header line (the offending bytes are not logged)")]
    [TestCase("The HTTP response headers length exceeded the set limit of 65536 bytes.", "The HTTP response headers length exceeded the set limit of 65536 bytes.")]
    public void WithoutQuotedBytes_HandlerMessage_DropsTheUpstreamBytes(string message, string expected) =>
        Assert.That(RequestForwarder.WithoutQuotedBytes(message), Is.EqualTo(expected));

    private static HttpResponseMessage Response(HttpStatusCode status, string[]? contentLength, string? transferEncoding = null)
    {
        var response = new HttpResponseMessage(status) { Content = new ByteArrayContent([]) };
        response.Content.Headers.Remove("Content-Length");
        if (contentLength is not null)
        {
            response.Content.Headers.TryAddWithoutValidation("Content-Length", contentLength);
        }

        if (transferEncoding is not null)
        {
            response.Headers.TryAddWithoutValidation("Transfer-Encoding", transferEncoding);
        }

        return response;
    }
}
