using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Forwarding;

/// <summary>Writes the gateway's own answers as RFC 9457 problem details (DESIGN.md "Responses the gateway itself produces").</summary>
internal static class ProblemResponses
{
    public const string ContentType = "application/problem+json";

    private static readonly string[] CachedSeconds = CreateCachedSeconds();

    private static FormattedSeconds? LastFormattedSeconds;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static int StatusFor(GatewayErrorReason reason) => reason switch
    {
        GatewayErrorReason.ConcurrencyLimit => StatusCodes.Status429TooManyRequests,
        GatewayErrorReason.TunnelLimit => StatusCodes.Status429TooManyRequests,
        GatewayErrorReason.CircuitOpen => StatusCodes.Status503ServiceUnavailable,
        GatewayErrorReason.UpstreamUnreachable => StatusCodes.Status502BadGateway,
        GatewayErrorReason.BadUpstreamResponse => StatusCodes.Status502BadGateway,
        GatewayErrorReason.UpstreamTimeout => StatusCodes.Status504GatewayTimeout,
        GatewayErrorReason.UpgradeRejected => StatusCodes.Status501NotImplemented,
        GatewayErrorReason.InvalidPath => StatusCodes.Status400BadRequest,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>Formats whole seconds for <c>Retry-After</c>; the common values are cached strings.</summary>
    public static string Seconds(int seconds)
    {
        if ((uint)seconds < (uint)CachedSeconds.Length)
        {
            return CachedSeconds[seconds];
        }

        // A long RecoveryTimeout counts down one second at a time: every 503 of that second shares one string.
        var last = Volatile.Read(ref LastFormattedSeconds);
        if (last is not null && last.Seconds == seconds)
        {
            return last.Text;
        }

        last = new FormattedSeconds(seconds, seconds.ToString(CultureInfo.InvariantCulture));
        Volatile.Write(ref LastFormattedSeconds, last);
        return last.Text;
    }

    /// <summary>Writes a problem response. The response must not have started.</summary>
    public static Task WriteAsync(HttpContext context, GatewayErrorReason reason, string proxyName, string? retryAfterSeconds = null, string? circuitState = null) =>
        WriteCoreAsync(context, StatusFor(reason), TitleFor(reason), DetailFor(reason), proxyName, reason.ToLabel(), retryAfterSeconds, circuitState);

    /// <summary>
    /// Answers a request whose body Kestrel refused (413 over MaxRequestBodySize, 400 malformed, 408
    /// stalled). No <c>reason</c> field: the upstream was not at fault and no error reason is counted.
    /// </summary>
    public static Task WriteRequestBodyRejectedAsync(HttpContext context, int status, string proxyName)
    {
        var (title, detail) = status switch
        {
            StatusCodes.Status413PayloadTooLarge => ("Content Too Large", "The request body is larger than the server accepts (Kestrel's MaxRequestBodySize)."),
            StatusCodes.Status408RequestTimeout => ("Request Timeout", "The client stopped sending the request body."),
            _ => ("Bad Request", "The request body could not be read."),
        };

        return WriteCoreAsync(context, status, title, detail, proxyName, reasonLabel: null, retryAfterSeconds: null, circuitState: null);
    }

    private static Task WriteCoreAsync(HttpContext context, int status, string title, string detail, string proxyName, string? reasonLabel, string? retryAfterSeconds, string? circuitState)
    {
        var response = context.Response;
        response.StatusCode = status;
        var headers = response.Headers;
        headers.ContentType = ContentType;
        headers.CacheControl = "no-store";
        if (retryAfterSeconds is not null)
        {
            headers.RetryAfter = retryAfterSeconds;
        }

        if (circuitState is not null)
        {
            headers["X-Circuit-Breaker"] = circuitState;
        }

        // Issue 16: the body is fixed per proxy and reason but for the trace id, so it is built once and
        // copied. With its Content-Length set and the response started first, the bytes go straight
        // behind the headers in Kestrel's output (no chunked framing, no buffering of a body written
        // before the headers) and leave in one write when the request ends; no flush of our own.
        Span<byte> traceId = stackalloc byte[ProblemBody.MaxTraceIdLength];
        var traceIdLength = ProblemBody.FormatTraceId(context, traceId);
        if (traceIdLength < 0)
        {
            WriteWithJsonWriter(response, status, title, detail, proxyName, reasonLabel, Activity.Current?.Id ?? context.TraceIdentifier);
            return Task.CompletedTask;
        }

        var body = ProblemBody.For(status, title, detail, proxyName, reasonLabel);
        var length = body.Length(traceIdLength);
        response.ContentLength = length;
        var start = response.StartAsync();
        if (!start.IsCompletedSuccessfully)
        {
            var copy = new byte[length];
            body.CopyTo(traceId[..traceIdLength], copy);
            return WriteAfterStartAsync(start, response, copy);
        }

        var writer = response.BodyWriter;
        body.CopyTo(traceId[..traceIdLength], writer.GetSpan(length));
        writer.Advance(length);
        return Task.CompletedTask;
    }

    private static async Task WriteAfterStartAsync(Task start, HttpResponse response, byte[] body)
    {
        await start.ConfigureAwait(false);
        body.CopyTo(response.BodyWriter.GetSpan(body.Length));
        response.BodyWriter.Advance(body.Length);
    }

    /// <summary>Writes the body field by field: for a trace id the cached body cannot hold as it is.</summary>
    private static void WriteWithJsonWriter(HttpResponse response, int status, string title, string detail, string proxyName, string? reasonLabel, string traceId)
    {
        var writer = t_writer ??= new Utf8JsonWriter(response.BodyWriter, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(response.BodyWriter);
        WriteProblemObject(writer, status, title, detail, proxyName, reasonLabel, traceId);
        writer.Flush();
        writer.Reset();
    }

    /// <summary>The problem object, in the one field order every gateway answer has.</summary>
    internal static void WriteProblemObject(Utf8JsonWriter writer, int status, string title, string detail, string proxyName, string? reasonLabel, string traceId)
    {
        writer.WriteStartObject();
        writer.WriteString("type", TypeFor(status));
        writer.WriteString("title", title);
        writer.WriteNumber("status", status);
        writer.WriteString("detail", detail);
        writer.WriteString("proxy", proxyName);
        if (reasonLabel is not null)
        {
            writer.WriteString("reason", reasonLabel);
        }

        writer.WriteString("traceId", traceId);
        writer.WriteEndObject();
    }

    private static string TypeFor(int status) => status switch
    {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        408 => "https://tools.ietf.org/html/rfc9110#section-15.5.9",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        501 => "https://tools.ietf.org/html/rfc9110#section-15.6.2",
        502 => "https://tools.ietf.org/html/rfc9110#section-15.6.3",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        504 => "https://tools.ietf.org/html/rfc9110#section-15.6.5",
        _ => "about:blank",
    };

    internal static string TitleFor(GatewayErrorReason reason) => reason switch
    {
        GatewayErrorReason.ConcurrencyLimit => "Too Many Requests",
        GatewayErrorReason.TunnelLimit => "Too Many Requests",
        GatewayErrorReason.CircuitOpen => "Service Unavailable",
        GatewayErrorReason.UpstreamUnreachable => "Bad Gateway",
        GatewayErrorReason.BadUpstreamResponse => "Bad Gateway",
        GatewayErrorReason.UpstreamTimeout => "Gateway Timeout",
        GatewayErrorReason.UpgradeRejected => "Not Implemented",
        GatewayErrorReason.InvalidPath => "Bad Request",
        _ => "Internal Server Error",
    };

    internal static string DetailFor(GatewayErrorReason reason) => reason switch
    {
        GatewayErrorReason.ConcurrencyLimit => "The upstream's concurrency limit is reached; retry after the time in Retry-After.",
        GatewayErrorReason.TunnelLimit => "The proxy's WebSocket tunnel limit is reached; retry after the time in Retry-After.",
        GatewayErrorReason.CircuitOpen => "The upstream's circuit breaker is open after repeated failures; retry after the time in Retry-After.",
        GatewayErrorReason.UpstreamUnreachable => "The upstream could not be reached or closed the connection before answering.",
        GatewayErrorReason.BadUpstreamResponse => "The upstream answered with something that is not valid HTTP.",
        GatewayErrorReason.UpstreamTimeout => "The upstream did not connect or answer in time.",
        GatewayErrorReason.UpgradeRejected => "Connection upgrades (such as WebSocket) are not proxied.",
        GatewayErrorReason.InvalidPath => "The path would climb above the upstream's base path.",
        _ => "The gateway failed.",
    };

    private static string[] CreateCachedSeconds()
    {
        var values = new string[301];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i.ToString(CultureInfo.InvariantCulture);
        }

        return values;
    }

    private sealed record FormattedSeconds(int Seconds, string Text);

    /// <summary>The state names sent in <c>X-Circuit-Breaker</c>.</summary>
    public static string HeaderValue(CircuitState state) => state == CircuitState.HalfOpen ? "half-open" : "open";
}
