using System.Collections.Frozen;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace HardenedGateway.Forwarding;

/// <summary>
/// The header rules of DESIGN.md "Forwarding rules": hop-by-hop headers are dropped in both
/// directions, the outbound <c>Host</c> is the upstream's, and the client is described in
/// <c>X-Forwarded-For</c>, <c>-Proto</c> and <c>-Host</c>.
/// </summary>
internal static class HeaderRules
{
    /// <summary>Hop-by-hop headers (RFC 9110 §7.6.1) plus the legacy ones proxies drop.</summary>
    private static readonly FrozenSet<string> HopByHop = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
    [
        HeaderNames.Connection,
        HeaderNames.KeepAlive,
        HeaderNames.ProxyConnection,
        HeaderNames.ProxyAuthenticate,
        HeaderNames.ProxyAuthorization,
        HeaderNames.TE,
        HeaderNames.Trailer,
        HeaderNames.TransferEncoding,
        HeaderNames.Upgrade,
    ]);

    /// <summary>Request headers the gateway sets itself rather than copies.</summary>
    private static readonly FrozenSet<string> SetByGateway = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
    [
        HeaderNames.Host,
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
    ]);

    public static bool IsHopByHop(string name) => HopByHop.Contains(name);

    /// <summary>Copies the client's request headers to the upstream request, applying the forwarding rules.</summary>
    public static void CopyRequestHeaders(HttpContext context, HttpRequestMessage request, bool http2Upstream)
    {
        var headers = context.Request.Headers;
        var connection = headers.Connection;
        var hasConnectionTokens = HasCustomConnectionTokens(connection);
        foreach (var header in headers)
        {
            var name = header.Key;
            if (name.Length == 0 || name[0] == ':' || SetByGateway.Contains(name))
            {
                continue;
            }

            if (HopByHop.Contains(name))
            {
                // TE: trailers is the one hop-by-hop value HTTP/2 (gRPC) upstreams need.
                if (http2Upstream && string.Equals(name, HeaderNames.TE, StringComparison.OrdinalIgnoreCase) && IsTrailersOnly(header.Value))
                {
                    request.Headers.TryAddWithoutValidation(HeaderNames.TE, "trailers");
                }

                continue;
            }

            if (hasConnectionTokens && IsNamedIn(connection, name))
            {
                continue;
            }

            AddRequestHeader(request, name, header.Value);
        }

        AddForwardedHeaders(context, request);
    }

    /// <summary>
    /// Copies the upstream's response headers to the client response, dropping hop-by-hop headers and
    /// <c>Content-Length</c> (the gateway declares the framing itself, see <see cref="ResponseFraming"/>).
    /// </summary>
    /// <returns>False when Kestrel refuses a header name or value (non-ASCII, control characters); the caller answers 502 then.</returns>
    public static bool CopyResponseHeaders(HttpResponseMessage response, HttpResponse clientResponse)
    {
        var target = clientResponse.Headers;
        var connectionTokens = response.Headers.NonValidated.TryGetValues(HeaderNames.Connection, out var connection) ? connection : default;
        return CopyResponseHeaderSet(response.Headers.NonValidated, connectionTokens, target)
            && CopyResponseHeaderSet(response.Content.Headers.NonValidated, connectionTokens, target);
    }

    private static bool CopyResponseHeaderSet(HttpHeadersNonValidated source, HeaderStringValues connectionTokens, IHeaderDictionary target)
    {
        foreach (var header in source)
        {
            var name = header.Key;
            if (HopByHop.Contains(name)
                || string.Equals(name, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
                || (connectionTokens.Count > 0 && IsNamedIn(connectionTokens, name)))
            {
                continue;
            }

            try
            {
                target[name] = ToStringValues(header.Value);
            }
            catch (InvalidOperationException)
            {
                // Kestrel validates names and values as they are set; an upstream's bytes it cannot write
                // must become the gateway's 502, never an exception that reaches Kestrel (RS-002).
                return false;
            }
        }

        return true;
    }

    private static StringValues ToStringValues(HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            return values.ToString();
        }

        var array = new string[values.Count];
        var i = 0;
        foreach (var value in values)
        {
            array[i++] = value;
        }

        return array;
    }

    private static void AddRequestHeader(HttpRequestMessage request, string name, StringValues value)
    {
        if (value.Count == 1)
        {
            var single = value.ToString();
            if (!request.Headers.TryAddWithoutValidation(name, single))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, single);
            }

            return;
        }

        var values = value.ToArray();
        if (!request.Headers.TryAddWithoutValidation(name, values))
        {
            request.Content?.Headers.TryAddWithoutValidation(name, values);
        }
    }

    private static void AddForwardedHeaders(HttpContext context, HttpRequestMessage request)
    {
        var clientHeaders = context.Request.Headers;
        var remote = context.Connection.RemoteIpAddress;
        var existingFor = clientHeaders["X-Forwarded-For"];
        if (remote is not null)
        {
            var address = (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
            var chain = existingFor.Count == 0 ? address : string.Join(", ", existingFor.ToString(), address);
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", chain);
        }
        else if (existingFor.Count > 0)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", existingFor.ToString());
        }

        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", context.Request.Scheme);
        var host = context.Request.Host;
        if (host.HasValue)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-Host", host.Value);
        }
    }

    private static bool IsTrailersOnly(StringValues values) =>
        values.Count == 1 && string.Equals(values.ToString().Trim(), "trailers", StringComparison.OrdinalIgnoreCase);

    private static bool HasCustomConnectionTokens(StringValues connection)
    {
        foreach (var value in connection)
        {
            if (value is not null && !string.Equals(value, "keep-alive", StringComparison.OrdinalIgnoreCase) && !string.Equals(value, "close", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsNamedIn(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            if (value is not null && ContainsToken(value, name))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsNamedIn(HeaderStringValues connection, string name)
    {
        foreach (var value in connection)
        {
            if (ContainsToken(value, name))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsToken(string list, string token)
    {
        foreach (var range in list.AsSpan().Split(','))
        {
            if (list.AsSpan(range).Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
