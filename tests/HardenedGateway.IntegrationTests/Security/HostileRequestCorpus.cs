using System.Globalization;

namespace HardenedGateway.IntegrationTests.Security;

/// <summary>What must happen to a hostile request.</summary>
public enum RequestOutcome
{
    /// <summary>Forwarded exactly once, to the configured upstream, with one framing; the client gets the upstream's 200.</summary>
    Forwarded,

    /// <summary>Refused with a clear 4xx by Kestrel or the gateway (or, for a stalled client, the connection closed); the upstream never gets a complete request.</summary>
    Refused,

    /// <summary>Not under any proxy prefix: the app answers (404) and the upstream is never contacted.</summary>
    NotProxied,
}

/// <summary>One hostile request: exact bytes (Latin-1), where the case comes from, and what must happen.</summary>
/// <param name="Name">Short unique name (the test case's name).</param>
/// <param name="Source">The published corpus or rule the case comes from.</param>
/// <param name="Request">The exact bytes the client writes, as Latin-1. The gateway is addressed as <c>Host: gw.test</c>.</param>
/// <param name="Expected">The promised outcome.</param>
/// <param name="Statuses">The statuses the client may get first (empty: the connection may also just close, for stalled clients).</param>
/// <param name="UpstreamBody">For <see cref="RequestOutcome.Forwarded"/>: the exact body the upstream must receive.</param>
/// <param name="Stalls">The client stops sending (slow loris): no sentinel request follows, the gateway must end the exchange by itself.</param>
/// <param name="ClosesAfter">For <see cref="RequestOutcome.Forwarded"/>: the server closes the connection after answering (RFC 9112 §6.3 (3) for a request with both framings), so nothing after it is parsed.</param>
public sealed record HostileRequest(string Name, string Source, string Request, RequestOutcome Expected, int[] Statuses, string? UpstreamBody = null, bool Stalls = false, bool ClosesAfter = false)
{
    public override string ToString() => Name;
}

/// <summary>
/// The hostile-request corpus (RS-002). Sources: PortSwigger "HTTP Desync Attacks: Request Smuggling
/// Reborn" (J. Kettle, 2019: CL.TE, TE.CL, TE.TE) and the Transfer-Encoding mutations of defparam's
/// smuggler.py (configs/default.py, names kept); HTTP Garden (narfindustries/http-garden) trophies;
/// RFC 9112 §2.2 (line endings), §3 (request line and target forms), §5 (field syntax, obs-fold),
/// §6 (message body length), §7.1 (chunked), §9.3 (pipelining), §11 (security considerations);
/// RFC 9110 §9.3.6/§9.3.8 (CONNECT, TRACE); Orange Tsai "Breaking Parser Logic" (Black Hat 2018) and
/// the OWASP path traversal cheat sheet for path climbs.
/// </summary>
public static class HostileRequestCorpus
{
    public const string Host = "gw.test";
    private const string Smuggled = "GET /api/ai/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n";
    private static readonly int[] BadRequest = [400];
    private static readonly int[] Ok = [200];

    /// <summary>smuggler.py (configs/default.py) Transfer-Encoding gadgets, by their names there.</summary>
    private static readonly (string Name, string Gadget)[] SmugglerGadgets =
    [
        ("nameprefix1", " Transfer-Encoding: chunked"),
        ("tabprefix1", "Transfer-Encoding:\tchunked"),
        ("tabprefix2", "Transfer-Encoding\t:\tchunked"),
        ("spacejoin1", "Transfer Encoding: chunked"),
        ("underjoin1", "Transfer_Encoding: chunked"),
        ("smashed", "Transfer Encoding:chunked"),
        ("space1", "Transfer-Encoding : chunked"),
        ("valueprefix1", "Transfer-Encoding:  chunked"),
        ("vertprefix1", "Transfer-Encoding:\u000Bchunked"),
        ("commaCow", "Transfer-Encoding: chunked, cow"),
        ("cowComma", "Transfer-Encoding: cow, chunked"),
        ("contentEnc", "Content-Encoding: chunked"),
        ("linewrapped1", "Transfer-Encoding:\n chunked"),
        ("quoted", "Transfer-Encoding: \"chunked\""),
        ("aposed", "Transfer-Encoding: 'chunked'"),
        ("lazygrep", "Transfer-Encoding: chunk"),
        ("sarcasm", "TrAnSFer-EnCODinG: cHuNkeD"),
        ("yelling", "TRANSFER-ENCODING: CHUNKED"),
        ("0dsuffix", "Transfer-Encoding: chunked\r"),
        ("tabsuffix", "Transfer-Encoding: chunked\t"),
        ("revdualchunk", "Transfer-Encoding: cow\r\nTransfer-Encoding: chunked"),
        ("0dspam", "Transfer\r-Encoding: chunked"),
        ("chunkedchunked2", "Transfer-Encoding: chunkedchunked"),
        ("spjunk", "Transfer-Encoding x: chunked"),
        ("connection", "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked"),
        ("revdualchunkinv", "Transfer-Encoding: chunked\r\nTransfer-Encoding: aSDaxcaxzd"),
        ("doubletransfer1", "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked"),
        ("midspace-00", "Transfer-Encoding:\0chunked"),
        ("midspace-a0", "Transfer-Encoding:\u00A0chunked"),
        ("postspace-0b", "Transfer-Encoding\u000B: chunked"),
        ("xprespace-0d", "X: X\rTransfer-Encoding: chunked"),
        ("xnprespace-0a", "X: X\nTransfer-Encoding: chunked"),
    ];

    /// <summary>Gadgets Kestrel parses as a valid chunked Transfer-Encoding (with a Content-Length: it closes after answering).</summary>
    private static readonly HashSet<string> KestrelTakesAsChunked =
        ["tabprefix1", "valueprefix1", "cowComma", "sarcasm", "yelling", "tabsuffix", "revdualchunk", "connection", "doubletransfer1", "xnprespace-0a"];

    /// <summary>Gadgets that are another field to Kestrel (a different name), so Content-Length frames the request.</summary>
    private static readonly HashSet<string> KestrelTakesAsOtherHeader = ["underjoin1", "contentEnc", "postspace-0b"];

    public static IEnumerable<HostileRequest> Cases()
    {
        // --- CL.TE, TE.CL (PortSwigger 2019) ---
        var clTeBody = "0\r\n\r\n" + Smuggled;
        yield return new("CL.TE", "PortSwigger HTTP Desync (CL.TE); RFC 9112 §6.3 (3): Transfer-Encoding wins and the server closes the connection after answering",
            Post("/api/ai/x", $"Content-Length: {clTeBody.Length}\r\nTransfer-Encoding: chunked\r\n", clTeBody, contentLength: false), RequestOutcome.Forwarded, Ok, UpstreamBody: string.Empty, ClosesAfter: true);
        var teClChunk = Smuggled;
        var teClBody = $"{teClChunk.Length:x}\r\n{teClChunk}\r\n0\r\n\r\n";
        yield return new("TE.CL", "PortSwigger HTTP Desync (TE.CL); RFC 9112 §6.3 (3): the chunk is body bytes, re-framed once upstream; the connection is closed after answering",
            Post("/api/ai/x", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", teClBody, contentLength: false), RequestOutcome.Forwarded, Ok, UpstreamBody: teClChunk, ClosesAfter: true);

        // --- TE.TE: smuggler.py's Transfer-Encoding obfuscations, each with a Content-Length covering a hidden request ---
        var teTeBody = "1\r\nZ\r\n0\r\n\r\n" + Smuggled;
        foreach (var (name, gadget) in SmugglerGadgets)
        {
            var source = $"smuggler.py configs/default.py mutation \"{name}\"; PortSwigger HTTP Desync (TE.TE)";
            var request = Post("/api/ai/x", $"{gadget}\r\nContent-Length: {teTeBody.Length}\r\n", teTeBody, contentLength: false);
            if (KestrelTakesAsChunked.Contains(name))
            {
                // Kestrel reads it as chunked (body "Z"), answers, and closes: the hidden request is never parsed.
                yield return new("TE.TE-" + name, source + "; RFC 9112 §6.3 (3)", request, RequestOutcome.Forwarded, Ok, UpstreamBody: "Z", ClosesAfter: true);
            }
            else if (KestrelTakesAsOtherHeader.Contains(name))
            {
                // Not Transfer-Encoding to Kestrel: Content-Length frames it, the hidden request is body bytes, re-framed once upstream.
                yield return new("TE.TE-" + name, source, request, RequestOutcome.Forwarded, Ok, UpstreamBody: teTeBody);
            }
            else
            {
                yield return new("TE.TE-" + name, source + "; RFC 9112 §5, §6.1 (rejected)", request, RequestOutcome.Refused, BadRequest);
            }
        }

        // --- Content-Length duplicates and malformed values (RFC 9112 §6.3 (5), RFC 9110 §8.6) ---
        foreach (var (name, value) in new[] { ("dup-conflict", "5\r\nContent-Length: 6"), ("dup-same", "5\r\nContent-Length: 5"), ("list-conflict", "5, 6"), ("list-same", "5, 5"), ("minus", "-5"), ("hex", "0x5"), ("space-inside", "5 5"), ("overflow", "99999999999999999999"), ("empty", string.Empty) })
        {
            yield return new("CL-" + name, "RFC 9112 §6.3 (5); RFC 9110 §8.6; HTTP Garden trophies (Content-Length parsing)",
                $"POST /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nContent-Length: {value}\r\n\r\nhello", RequestOutcome.Refused, BadRequest);
        }

        yield return new("CL-plus", "RFC 9110 §8.6 (1*DIGIT); HTTP Garden trophy: Kestrel reads \"+5\" as 5, and the gateway re-frames it as \"Content-Length: 5\"",
            $"POST /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nContent-Length: +5\r\n\r\nhello", RequestOutcome.Forwarded, Ok, UpstreamBody: "hello");

        // --- obs-fold, bare LF and CR, NUL and control bytes (RFC 9112 §2.2, §5.2; RFC 9110 §5.5) ---
        yield return new("obs-fold", "RFC 9112 §5.2: a server must reject obs-fold (or replace it)",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX-Folded: a\r\n b\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("bare-lf-request", "RFC 9112 §2.2: a recipient may take a bare LF as a line terminator (Kestrel does); HTTP Garden trophy",
            $"GET /api/ai/x HTTP/1.1\nHost: {Host}\n\n", RequestOutcome.Forwarded, Ok);
        yield return new("bare-cr-in-value", "RFC 9112 §2.2: bare CR must be rejected or replaced; HTTP Garden trophy",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX-A: a\rb\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("nul-in-value", "RFC 9110 §5.5: NUL in a field value",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX-A: a\0b\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("ctl-in-name", "RFC 9110 §5.1: field-name is a token; Kestrel accepts it, the gateway's outbound request cannot carry it and drops it",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX\u0001A: b\r\n\r\n", RequestOutcome.Forwarded, Ok);
        yield return new("nul-in-target", "RFC 9112 §3.2 (request-target); HTTP Garden trophy (NUL in target)",
            $"GET /api/ai/a\0b HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("encoded-nul-in-target", "RFC 9112 §3.2; OWASP path traversal (%00)",
            $"GET /api/ai/a%00b HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("space-in-target", "RFC 9112 §3 (request-line has exactly two spaces); HTTP Garden trophy",
            $"GET /api/ai/a b HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("high-bytes-in-value", "RFC 9110 §5.5 (obs-text)",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX-A: caf\u00e9\r\n\r\n", RequestOutcome.Refused, BadRequest);

        // --- Chunk sizes and extensions parsers disagree on (RFC 9112 §7.1; HTTP Garden trophies) ---
        foreach (var (name, body) in new[]
        {
            ("size-0x-prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
            ("size-plus", "+5\r\nhello\r\n0\r\n\r\n"),
            ("size-overflow", "ffffffffffffffffff5\r\nhello\r\n0\r\n\r\n"),
            ("size-bare-lf", "5\nhello\r\n0\r\n\r\n"),
            ("data-too-long", "5\r\nhelloXX\r\n0\r\n\r\n"),
            ("ext-bare-lf", "5;a=b\nhello\r\n0\r\n\r\n"),
            ("ext-with-cr", "5;a=\rb\r\nhello\r\n0\r\n\r\n"),
            ("last-chunk-missing", "5\r\nhello\r\n"),
        })
        {
            // A chunk size that overflows makes Kestrel's body reader fail with an IOException rather than a
            // 400: the gateway cannot tell it from a dropped client, so the connection is closed, unanswered.
            var stalls = name == "last-chunk-missing";
            yield return new("chunk-" + name, "RFC 9112 §7.1; HTTP Garden trophies (chunk-size and chunk-ext parsing)",
                Post("/api/ai/x", "Transfer-Encoding: chunked\r\n", body, contentLength: false), RequestOutcome.Refused, stalls ? [408] : name == "size-overflow" ? [] : BadRequest, Stalls: stalls);
        }

        yield return new("chunk-valid-extension", "RFC 9112 §7.1.1: chunk extensions are ignored by the recipient",
            Post("/api/ai/x", "Transfer-Encoding: chunked\r\n", "5;name=\"value\"\r\nhello\r\n0\r\n\r\n", contentLength: false), RequestOutcome.Forwarded, Ok, UpstreamBody: "hello");
        yield return new("chunk-trailer-fields", "RFC 9112 §7.1.2: trailer fields are not forwarded as headers",
            Post("/api/ai/x", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n", contentLength: false), RequestOutcome.Forwarded, Ok, UpstreamBody: "hello");

        // --- Pipelining after an invalid request (RFC 9112 §9.3: a server closes after a framing error) ---
        yield return new("pipelined-after-invalid-length", "RFC 9112 §9.3, §6.3 (5); PortSwigger HTTP Desync",
            $"POST /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nContent-Length: abc\r\n\r\n" + Smuggled, RequestOutcome.Refused, BadRequest);
        yield return new("pipelined-after-invalid-line", "RFC 9112 §3, §9.3",
            $"GET /api/ai/x HTTP/1.1 extra\r\nHost: {Host}\r\n\r\n" + Smuggled, RequestOutcome.Refused, BadRequest);

        // --- Target forms and Host tricks: never an open proxy (RFC 9112 §3.2, §3.2.2) ---
        yield return new("absolute-form-other-host", "RFC 9112 §3.2.2 (absolute-form); PortSwigger \"Cracking the lens\" (J. Kettle, 2017)",
            $"GET http://evil.example/api/ai/x HTTP/1.1\r\nHost: evil.example\r\n\r\n", RequestOutcome.Forwarded, Ok);
        yield return new("absolute-form-host-mismatch", "RFC 9112 §3.2.2: the target's authority wins over Host; PortSwigger \"Cracking the lens\"",
            $"GET http://evil.example/api/ai/x HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("absolute-form-outside-prefix", "RFC 9112 §3.2.2; not an open proxy",
            $"GET http://127.0.0.1:1/secret HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n", RequestOutcome.NotProxied, [404]);
        yield return new("host-other", "PortSwigger \"Cracking the lens\" (Host header routing)",
            $"GET /api/ai/x HTTP/1.1\r\nHost: evil.example\r\n\r\n", RequestOutcome.Forwarded, Ok);
        yield return new("host-duplicate", "RFC 9112 §3.2: more than one Host is a 400",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nHost: evil.example\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("host-missing", "RFC 9112 §3.2: HTTP/1.1 without Host is a 400",
            "GET /api/ai/x HTTP/1.1\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("host-userinfo", "RFC 9110 §4.2.4 (no userinfo); PortSwigger \"Cracking the lens\"",
            "GET /api/ai/x HTTP/1.1\r\nHost: gw.test@evil.example\r\n\r\n", RequestOutcome.Refused, BadRequest);
        yield return new("x-forwarded-host-spoof", "RFC 7239 / de-facto X-Forwarded-*: the gateway sets these itself",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX-Forwarded-Host: evil.example\r\n\r\n", RequestOutcome.Forwarded, Ok);
        yield return new("connect-authority-form", "RFC 9110 §9.3.6 (CONNECT); RFC 9112 §3.2.3: not an open proxy",
            "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n", RequestOutcome.Refused, [400, 404, 405]);
        yield return new("connect-origin-form", "RFC 9110 §9.3.6; RFC 9112 §3.2.3: a tunnel request is refused like an Upgrade (501 upgrade_rejected), never a breaker failure",
            $"CONNECT /api/ai/x HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Refused, [501]);
        yield return new("asterisk-form", "RFC 9112 §3.2.4 (asterisk-form is for OPTIONS only)",
            $"OPTIONS * HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.NotProxied, [404]);
        yield return new("trace", "RFC 9110 §9.3.8 (TRACE is forwarded like any method, to the configured upstream only)",
            $"TRACE /api/ai/x HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Forwarded, Ok);

        // --- Path climbs in every spelling (DESIGN.md Forwarding rules; OWASP path traversal; Orange Tsai 2018) ---
        foreach (var (name, path) in new[]
        {
            ("dotdot", "/api/ai/../secret"),
            ("dotdot-deep", "/api/ai/a/../../secret"),
            ("encoded-dots", "/api/ai/%2e%2e/secret"),
            ("mixed-dots", "/api/ai/.%2E/secret"),
            ("mixed-dots-2", "/api/ai/%2E./secret"),
            ("encoded-slash", "/api/ai/..%2fsecret"),
            ("all-encoded", "/api/ai/%2e%2e%2fsecret"),
            ("backslash", "/api/ai/..\\secret"),
            ("encoded-backslash", "/api/ai/..%5csecret"),
            ("dot-segment-first", "/api/ai/./../secret"),
            ("trailing", "/api/ai/.."),
            ("semicolon-parameter", "/api/ai/..;/secret"),
            ("semicolon-parameter-value", "/api/ai/..;x=y/secret"),
            ("into-sibling-prefix", "/api/ai/../ai2/x"),
        })
        {
            yield return new("climb-" + name, "DESIGN.md Forwarding rules; OWASP Path Traversal; Orange Tsai \"Breaking Parser Logic\" (2018) for \"..;\"",
                $"GET {path} HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Refused, BadRequest);
        }

        yield return new("double-encoded-dots", "OWASP Path Traversal (double encoding): forwarded as received; one decoding gives \"%2e%2e\", not a climb",
            $"GET /api/ai/%252e%252e/secret HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Forwarded, Ok);
        yield return new("prefix-with-encoded-slash", "DESIGN.md Forwarding rules (whole segments); OWASP Path Traversal",
            $"GET /api/ai%2f..%2f..%2fsecret HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.NotProxied, [404]);

        // --- Huge header counts and sizes, long targets, large bodies (RFC 9112 §11; Kestrel limits set small in the test host) ---
        yield return new("header-count", "RFC 9112 §11 (resource exhaustion); Kestrel MaxRequestHeaderCount",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: v\r\n")) + "\r\n", RequestOutcome.Refused, [431]);
        yield return new("header-size", "RFC 9112 §11; Kestrel MaxRequestHeadersTotalSize",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX-Big: {new string('a', 40 * 1024)}\r\n\r\n", RequestOutcome.Refused, [431]);
        yield return new("target-size", "RFC 9112 §3 (414); Kestrel MaxRequestLineSize",
            $"GET /api/ai/{new string('a', 16 * 1024)} HTTP/1.1\r\nHost: {Host}\r\n\r\n", RequestOutcome.Refused, [414]);
        yield return new("body-over-limit", "RFC 9110 §15.5.14 (413); Kestrel MaxRequestBodySize",
            Post("/api/ai/x", string.Empty, new string('a', 80 * 1024)), RequestOutcome.Refused, [413]);
        yield return new("chunked-body-over-limit", "RFC 9110 §15.5.14 (413); Kestrel MaxRequestBodySize, chunked",
            Post("/api/ai/x", "Transfer-Encoding: chunked\r\n", $"{80 * 1024:x}\r\n{new string('a', 80 * 1024)}\r\n0\r\n\r\n", contentLength: false), RequestOutcome.Refused, [413]);

        // --- Slow loris: stalled heads and bodies are ended by the server, bounded by its timeouts ---
        yield return new("slowloris-head", "Slowloris (R. Hansen, 2009); Kestrel RequestHeadersTimeout",
            $"GET /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nX-A: ", RequestOutcome.Refused, [], Stalls: true);
        yield return new("pause-after-headers", "Slowloris body variant (R-U-Dead-Yet); the gateway's StreamIdleTimeout while uploading",
            $"POST /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nContent-Length: 10\r\n\r\n", RequestOutcome.Refused, [408], Stalls: true);
        yield return new("trickle-body", "R-U-Dead-Yet (slow POST); the gateway's StreamIdleTimeout while uploading",
            $"POST /api/ai/x HTTP/1.1\r\nHost: {Host}\r\nContent-Length: 100\r\n\r\nabc", RequestOutcome.Refused, [408], Stalls: true);

        // --- Baseline: a clean request with a body is forwarded once, framed once ---
        yield return new("baseline-post", "RFC 9112 §6.2 (control case)",
            Post("/api/ai/x", string.Empty, "hello"), RequestOutcome.Forwarded, Ok, UpstreamBody: "hello");
    }

    private static string Post(string target, string headers, string body, bool contentLength = true) =>
        $"POST {target} HTTP/1.1\r\nHost: {Host}\r\n{headers}" +
        (contentLength ? $"Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n" : string.Empty) +
        "\r\n" + body;
}
