namespace HardenedGateway.IntegrationTests.Security;

/// <summary>What the client of the gateway must see when the upstream answers a hostile response.</summary>
public enum UpstreamOutcome
{
    /// <summary>Forwarded, with framing the gateway derived from what it actually read (never copied from the upstream).</summary>
    Forwarded,

    /// <summary>502 problem with reason <c>bad_upstream_response</c>; the breaker counts a failure.</summary>
    BadGateway,

    /// <summary>The head went out, then the client connection was cut (<c>upstream_aborted</c>); never a clean end of a truncated body.</summary>
    Cut,
}

/// <summary>One hostile upstream answer: its exact bytes (Latin-1), where the case comes from, and the outcome the gateway promises.</summary>
/// <param name="Name">Short unique name (the test case's name).</param>
/// <param name="Source">The published corpus or rule the case comes from.</param>
/// <param name="Response">The exact bytes the upstream writes, as Latin-1.</param>
/// <param name="Expected">The promised outcome.</param>
/// <param name="Status">For <see cref="UpstreamOutcome.Forwarded"/> and <see cref="UpstreamOutcome.Cut"/>: the status the client gets.</param>
/// <param name="Body">For <see cref="UpstreamOutcome.Forwarded"/>: the exact body the client gets.</param>
/// <param name="CloseAfter">The upstream closes the connection after writing (otherwise it keeps it open and answers the next request on it).</param>
/// <param name="AbsentHeaders">Headers that must not reach the client.</param>
/// <param name="ExpectedHeader">A header (<c>Name: value</c>) the client must get exactly so.</param>
/// <param name="Method">The method of the request the hostile answer answers.</param>
public sealed record HostileAnswer(
    string Name,
    string Source,
    string Response,
    UpstreamOutcome Expected,
    int Status = 200,
    string? Body = null,
    bool CloseAfter = false,
    string[]? AbsentHeaders = null,
    string? ExpectedHeader = null,
    string Method = "GET")
{
    public override string ToString() => Name;
}

/// <summary>
/// The hostile-upstream corpus (RS-002). Sources: RFC 9112 §6 (message body length), §11 (security
/// considerations: response splitting, smuggling); RFC 9110 §7.6.1 (Connection), §8.6 (Content-Length),
/// §15 (status codes); PortSwigger "HTTP Desync Attacks" (J. Kettle, 2019) and "Browser-Powered
/// Desync Attacks" (2022) for response-side desync; HTTP Garden (narfindustries/http-garden) trophies
/// on response parsing.
/// </summary>
public static class HostileUpstreamCorpus
{
    private const string Ok = "HTTP/1.1 200 OK\r\n";
    private const string Smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED";

    public static IEnumerable<HostileAnswer> Cases()
    {
        // --- Content-Length together with Transfer-Encoding (RFC 9112 §6.3 rule 3: TE wins; an intermediary removes CL) ---
        yield return new("CL-TE-shorter-CL", "RFC 9112 §6.3 (3); PortSwigger HTTP Desync CL.TE (response side)",
            Ok + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("CL-TE-longer-CL", "RFC 9112 §6.3 (3); PortSwigger HTTP Desync CL.TE (response side)",
            Ok + "Content-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("CL-TE-empty-body", "RFC 9112 §6.3 (3): a copied length with nothing written was Kestrel's 500, recorded by the gateway as a 200",
            Ok + "Content-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", UpstreamOutcome.Forwarded, Body: string.Empty);
        yield return new("TE-CL-smuggled-in-chunk", "RFC 9112 §6.3 (3); PortSwigger HTTP Desync TE.CL (response side)",
            Ok + $"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n{5 + Smuggled.Length:x}\r\nhello{Smuggled}\r\n0\r\n\r\n",
            UpstreamOutcome.Forwarded, Body: "hello" + Smuggled);
        yield return new("TE-gzip-chunked", "RFC 9112 §6.1 (transfer codings other than chunked); HTTP Garden trophy (TE list handling)",
            Ok + "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", UpstreamOutcome.BadGateway);
        yield return new("TE-identity", "RFC 9112 §6.3 (4): a response with TE not ending in chunked is read to the close",
            Ok + "Transfer-Encoding: identity\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("TE-chunked-twice", "RFC 9112 §7.1 (chunked applied twice is an error); PortSwigger TE.TE obfuscation",
            Ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("TE-obfuscated-xchunked", "PortSwigger HTTP Desync TE.TE obfuscation (Transfer-Encoding: xchunked)",
            Ok + "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);

        // --- Content-Length duplicates and invalid values (RFC 9110 §8.6, RFC 9112 §6.3 rule 5) ---
        yield return new("CL-duplicate-same", "RFC 9110 §8.6: identical duplicates may be taken as one value",
            Ok + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.Forwarded, Body: "hello", ExpectedHeader: "Content-Length: 5");
        yield return new("CL-list-same", "RFC 9110 §8.6: \"Content-Length: 5, 5\" (may be accepted; the handler would read it to the close, so it is refused)",
            Ok + "Content-Length: 5, 5\r\n\r\nhello", UpstreamOutcome.BadGateway);
        yield return new("CL-duplicate-conflicting", "RFC 9112 §6.3 (5); DESIGN.md Responses (two different Content-Length values)",
            Ok + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", UpstreamOutcome.BadGateway);
        yield return new("CL-list-conflicting", "RFC 9112 §6.3 (5): \"Content-Length: 5, 6\"",
            Ok + "Content-Length: 5, 6\r\n\r\nhello!", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("CL-not-a-number", "RFC 9112 §6.3 (5): invalid Content-Length",
            Ok + "Content-Length: abc\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("CL-negative", "RFC 9112 §6.3 (5); HTTP Garden trophy (signed lengths)",
            Ok + "Content-Length: -1\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("CL-plus-sign", "RFC 9110 §8.6 (1*DIGIT); HTTP Garden trophy (\"+\" accepted by strtol-based parsers)",
            Ok + "Content-Length: +5\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("CL-hex", "RFC 9110 §8.6 (1*DIGIT); HTTP Garden trophy (0x prefixes)",
            Ok + "Content-Length: 0x5\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("CL-overflow", "RFC 9112 §6.3 (5); HTTP Garden trophy (integer overflow in lengths)",
            Ok + "Content-Length: 99999999999999999999999\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("CL-space-before-colon", "RFC 9112 §5.1: a proxy removes whitespace between field name and colon before forwarding",
            Ok + "Content-Length : 5\r\n\r\nhello", UpstreamOutcome.Forwarded, Body: "hello", ExpectedHeader: "Content-Length: 5");

        // --- Oversized heads and interim answers ---
        yield return new("headers-over-limit", "RFC 9112 §11 (resource exhaustion); SocketsHttpHandler MaxResponseHeadersLength 64 KiB",
            Ok + "X-Big: " + new string('a', 128 * 1024) + "\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("many-100-continue", "RFC 9110 §15.2 (1xx interim responses); HTTP Garden trophy (unbounded 1xx)",
            string.Concat(Enumerable.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 1000)) + Ok + "Content-Length: 5\r\n\r\nhello",
            UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("many-103-early-hints", "RFC 8297 (103 Early Hints) repeated; RFC 9110 §15.2",
            string.Concat(Enumerable.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", 200)) + Ok + "Content-Length: 5\r\n\r\nhello",
            UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("101-to-plain-request", "RFC 9110 §15.2.2: 101 only answers an Upgrade request",
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW-TUNNEL-BYTES", UpstreamOutcome.BadGateway, CloseAfter: true);

        // --- Extra bytes after a complete body: a smuggled second response (response splitting, RFC 9112 §11.1) ---
        yield return new("extra-after-content-length", "RFC 9112 §11.1 (response splitting); PortSwigger HTTP Desync (response queue poisoning)",
            Ok + "Content-Length: 5\r\n\r\nhello" + Smuggled, UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("extra-after-chunked", "RFC 9112 §11.1; PortSwigger \"Browser-Powered Desync\" (response queue poisoning)",
            Ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + Smuggled, UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("body-on-204", "RFC 9112 §6.3 (1): 204 has no body, the bytes after the head are a second response",
            "HTTP/1.1 204 No Content\r\nContent-Length: 8\r\n\r\n" + "SMUGGLED", UpstreamOutcome.Forwarded, Status: 204, Body: string.Empty, AbsentHeaders: ["Content-Length"]);
        yield return new("body-on-head", "RFC 9110 §9.3.2, RFC 9112 §6.3 (1): a HEAD answer has no body, bytes after its head are a second response",
            Ok + "Content-Length: 8\r\n\r\n" + Smuggled, UpstreamOutcome.Forwarded, Body: string.Empty, ExpectedHeader: "Content-Length: 8", Method: "HEAD");
        yield return new("body-on-304", "RFC 9112 §6.3 (1): 304 has no body",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 8\r\n\r\n" + "SMUGGLED", UpstreamOutcome.Forwarded, Status: 304, Body: string.Empty);

        // --- Header names and values Kestrel refuses to write ---
        yield return new("header-value-obs-text", "RFC 9110 §5.5 (obs-text); Kestrel rejects non-ASCII response header values",
            Ok + "X-Name: caf\u00e9\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.BadGateway);
        yield return new("header-value-control", "RFC 9110 §5.5 (CTL in field values); HTTP Garden trophy (control bytes)",
            Ok + "X-Name: a\u0001b\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.BadGateway);
        yield return new("header-value-nul", "RFC 9110 §5.5 (NUL in a field value is rejected or replaced with SP)",
            Ok + "X-Name: a\0b\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.Forwarded, Body: "hello", ExpectedHeader: "X-Name: a b");
        yield return new("header-name-space", "RFC 9112 §5.1 / RFC 9110 §5.1 (field-name is a token)",
            Ok + "X Name: v\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("header-name-non-token", "RFC 9110 §5.1 (field-name is a token); HTTP Garden trophy",
            Ok + "X(Name): v\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("obs-fold", "RFC 9112 §5.2 (obs-fold: a proxy must reject or replace with SP)",
            Ok + "X-Folded: a\r\n b\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("bare-lf-lines", "RFC 9112 §2.2 (bare LF as line terminator)",
            "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("bare-cr-in-value", "RFC 9112 §2.2 (bare CR is rejected or replaced with SP); HTTP Garden trophy",
            Ok + "X-Name: a\rb\r\nContent-Length: 5\r\n\r\nhello", UpstreamOutcome.Forwarded, Body: "hello", ExpectedHeader: "X-Name: a b");

        // --- Connection naming end-to-end headers (RFC 9110 §7.6.1) ---
        yield return new("connection-names-content-length", "RFC 9110 §7.6.1; PortSwigger \"hop-by-hop header abuse\" (N. Davis, 2019)",
            Ok + "Connection: Content-Length, X-Secret\r\nX-Secret: s3cr3t\r\nContent-Length: 5\r\n\r\nhello",
            UpstreamOutcome.Forwarded, Body: "hello", AbsentHeaders: ["X-Secret"], ExpectedHeader: "Content-Length: 5");
        yield return new("connection-names-content-type-and-cookie", "RFC 9110 §7.6.1; PortSwigger \"hop-by-hop header abuse\"",
            Ok + "Connection: keep-alive, Set-Cookie, Content-Type\r\nSet-Cookie: a=b\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
            UpstreamOutcome.Forwarded, Body: "hello", AbsentHeaders: ["Set-Cookie", "Content-Type"]);

        // --- Status line outside 100..999 (RFC 9112 §4: status-code = 3DIGIT) ---
        yield return new("status-two-digits", "RFC 9112 §4 (3DIGIT)", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("status-four-digits", "RFC 9112 §4 (3DIGIT)", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("status-099", "RFC 9110 §15 (100..599 defined; below 100 invalid)", "HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("status-000", "RFC 9110 §15", "HTTP/1.1 000 Zero\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("status-letters", "RFC 9112 §4 (3DIGIT)", "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("status-999", "RFC 9110 §15: unknown 3-digit codes are valid and treated as x00 of their class",
            "HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.Forwarded, Status: 999, Body: "ok");
        yield return new("status-line-garbage", "RFC 9112 §4; DESIGN.md EC-004", "HELLO WORLD\r\n\r\n", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("version-http2-text", "RFC 9112 §2.3 (HTTP-version)", "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);

        // --- A body shorter or longer than declared (RFC 9112 §6.3, §8) ---
        yield return new("body-shorter-than-content-length", "RFC 9112 §8 (incomplete messages): the client must see a cut, not a clean end",
            Ok + "Content-Length: 10\r\n\r\nhello", UpstreamOutcome.Cut, CloseAfter: true);
        yield return new("body-longer-than-content-length", "RFC 9112 §6.3 (6): bytes past Content-Length are not this response's",
            Ok + "Content-Length: 5\r\n\r\nhello world", UpstreamOutcome.Forwarded, Body: "hello", CloseAfter: true);
        yield return new("chunked-without-last-chunk", "RFC 9112 §7.1 / §8: a chunked body cut before its last chunk",
            Ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", UpstreamOutcome.Cut, CloseAfter: true);
        yield return new("chunked-size-garbage", "RFC 9112 §7.1 (chunk-size = 1*HEXDIG); HTTP Garden trophy",
            Ok + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", UpstreamOutcome.Cut, CloseAfter: true);
        yield return new("chunked-size-overflow", "RFC 9112 §7.1; HTTP Garden trophy (chunk-size overflow)",
            Ok + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n", UpstreamOutcome.Cut, CloseAfter: true);
        yield return new("close-delimited", "RFC 9112 §6.3 (8): no framing, the body runs to the close",
            Ok + "Connection: close\r\n\r\nhello", UpstreamOutcome.Forwarded, Body: "hello", CloseAfter: true);
    }
}
