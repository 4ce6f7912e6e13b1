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
public sealed record HostileAnswer(
    string Name,
    string Source,
    string Response,
    UpstreamOutcome Expected,
    int Status = 200,
    string? Body = null,
    bool CloseAfter = false,
    string[]? AbsentHeaders = null,
    string? ExpectedHeader = null)
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

        // --- Content-Length duplicates and invalid values (RFC 9110 §8.6, RFC 9112 §6.3 rule 5) ---
        yield return new("CL-space-before-colon", "RFC 9112 §5.1: a proxy removes whitespace between field name and colon before forwarding",
            Ok + "Content-Length : 5\r\n\r\nhello", UpstreamOutcome.Forwarded, Body: "hello", ExpectedHeader: "Content-Length: 5");

        // --- Oversized heads and interim answers ---
        yield return new("many-100-continue", "RFC 9110 §15.2 (1xx interim responses); HTTP Garden trophy (unbounded 1xx)",
            string.Concat(Enumerable.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 1000)) + Ok + "Content-Length: 5\r\n\r\nhello",
            UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("many-103-early-hints", "RFC 8297 (103 Early Hints) repeated; RFC 9110 §15.2",
            string.Concat(Enumerable.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", 200)) + Ok + "Content-Length: 5\r\n\r\nhello",
            UpstreamOutcome.Forwarded, Body: "hello");

        // --- Extra bytes after a complete body: a smuggled second response (response splitting, RFC 9112 §11.1) ---
        yield return new("extra-after-content-length", "RFC 9112 §11.1 (response splitting); PortSwigger HTTP Desync (response queue poisoning)",
            Ok + "Content-Length: 5\r\n\r\nhello" + Smuggled, UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("extra-after-chunked", "RFC 9112 §11.1; PortSwigger \"Browser-Powered Desync\" (response queue poisoning)",
            Ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + Smuggled, UpstreamOutcome.Forwarded, Body: "hello");
        yield return new("body-on-304", "RFC 9112 §6.3 (1): 304 has no body",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 8\r\n\r\n" + "SMUGGLED", UpstreamOutcome.Forwarded, Status: 304, Body: string.Empty);

        // --- Header names and values Kestrel refuses to write ---
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
        yield return new("connection-names-content-type-and-cookie", "RFC 9110 §7.6.1; PortSwigger \"hop-by-hop header abuse\"",
            Ok + "Connection: keep-alive, Set-Cookie, Content-Type\r\nSet-Cookie: a=b\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
            UpstreamOutcome.Forwarded, Body: "hello", AbsentHeaders: ["Set-Cookie", "Content-Type"]);

        // --- Status line outside 100..999 (RFC 9112 §4: status-code = 3DIGIT) ---
        yield return new("status-two-digits", "RFC 9112 §4 (3DIGIT)", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
        yield return new("status-four-digits", "RFC 9112 §4 (3DIGIT)", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", UpstreamOutcome.BadGateway, CloseAfter: true);
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
