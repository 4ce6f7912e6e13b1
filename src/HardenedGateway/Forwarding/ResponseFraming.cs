using System.Net.Http.Headers;
using Microsoft.Net.Http.Headers;

namespace HardenedGateway.Forwarding;

/// <summary>
/// Decides whether an upstream answer can be forwarded safely and with which framing (RS-002). The
/// gateway never copies <c>Content-Length</c> or <c>Transfer-Encoding</c> from the upstream: it
/// declares the length the handler actually framed the body by, or none (Kestrel then chunks), so a
/// client never gets framing that disagrees with the bytes that follow (RFC 9112 §6.3).
/// </summary>
internal static class ResponseFraming
{
    /// <summary>Why an answer was refused; logged as is, so it never carries a header value.</summary>
    public const string InvalidStatus = "status code outside 200..999 (or 101 to a request that asked for no upgrade)";

    /// <summary>Transfer codings other than a single <c>chunked</c> cannot be forwarded: HTTP/1.1 clients need not accept them and the gateway does not decode them (RFC 9112 §6.1, §7).</summary>
    public const string UnsupportedTransferEncoding = "Transfer-Encoding other than a single chunked";

    /// <summary>Two different lengths, or one that is not 1*DIGIT (RFC 9110 §8.6, RFC 9112 §6.3 rule 5).</summary>
    public const string InvalidContentLength = "invalid or conflicting Content-Length";

    /// <summary>A header name or value Kestrel refuses to write (non-ASCII, control characters).</summary>
    public const string UnwritableHeader = "a header Kestrel refuses to write";

    /// <summary>
    /// Checks the status and framing of <paramref name="response"/>. On success <paramref name="contentLength"/>
    /// is the length to declare to the client, or null for none.
    /// </summary>
    /// <returns>Null when the answer can be forwarded; otherwise why not (one of this class's constants).</returns>
    public static string? Check(HttpResponseMessage response, int statusCode, out long? contentLength)
    {
        contentLength = null;

        // A final 1xx (the handler returns 101 as final) has no place in an answer to a plain request,
        // and Kestrel would write a status outside 100..999 as given.
        if (statusCode is < 200 or > 999)
        {
            return InvalidStatus;
        }

        if (response.Headers.NonValidated.TryGetValues(HeaderNames.TransferEncoding, out var transferEncoding))
        {
            // The handler framed the body by its chunks: that is what was read, so a Content-Length sent
            // alongside is dropped (RFC 9112 §6.3 rule 3: an intermediary removes it before forwarding).
            return IsSingleChunked(transferEncoding) ? null : UnsupportedTransferEncoding;
        }

        if (!response.Content.Headers.NonValidated.TryGetValues(HeaderNames.ContentLength, out var declared))
        {
            return null;
        }

        long? length = null;
        var items = 0;
        foreach (var value in declared)
        {
            // "5, 5" and repeated identical fields are one length (RFC 9110 §8.6); anything else is refused.
            foreach (var range in value.AsSpan().Split(','))
            {
                var item = value.AsSpan(range).Trim(" \t");
                if (!TryParseDigits(item, out var parsed) || (length is { } seen && seen != parsed))
                {
                    return InvalidContentLength;
                }

                length = parsed;
                items++;
            }
        }

        // The length declared to the client must be the one the handler frames the body by. It takes
        // identical repeated fields as one, but reads "5, 5" to the close: refused rather than forwarded
        // with a length the upstream connection does not follow. A single plain number is what the
        // handler framed by, so only a list asks the handler (its typed read parses and boxes per answer).
        if (length is null || (items > 1 && response.Content.Headers.ContentLength != length))
        {
            return InvalidContentLength;
        }

        // 204 has no body and no length (RFC 9110 §8.6, §15.3.5); Kestrel refuses a Content-Length on it.
        contentLength = statusCode == 204 ? null : length;
        return null;
    }

    private static bool IsSingleChunked(HeaderStringValues values)
    {
        var count = 0;
        foreach (var value in values)
        {
            foreach (var range in value.AsSpan().Split(','))
            {
                var coding = value.AsSpan(range).Trim(" \t");
                if (coding.IsEmpty)
                {
                    continue;
                }

                if (++count > 1 || !coding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            }
        }

        return count == 1;
    }

    private static bool TryParseDigits(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 18)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
