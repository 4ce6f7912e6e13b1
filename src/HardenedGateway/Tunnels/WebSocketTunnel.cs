using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HardenedGateway.Tunnels;

/// <summary>Recognises the requests a tunnel serves: WebSocket upgrades, and nothing else that asks for a protocol switch.</summary>
internal static class WebSocketTunnel
{
    private const string WebSocketProtocol = "websocket";

    /// <summary>
    /// True for an HTTP/1.1 request Kestrel can upgrade (<c>Connection: Upgrade</c>) whose <c>Upgrade</c>
    /// names <c>websocket</c>, and for an HTTP/2 extended CONNECT (RFC 8441) with <c>:protocol websocket</c>.
    /// </summary>
    public static bool IsWebSocketUpgrade(HttpContext context)
    {
        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } extendedConnect)
        {
            return string.Equals(extendedConnect.Protocol, WebSocketProtocol, StringComparison.OrdinalIgnoreCase);
        }

        if (context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true })
        {
            return false;
        }

        foreach (var value in context.Request.Headers.Upgrade)
        {
            if (value is not null && ContainsToken(value, WebSocketProtocol))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsToken(string list, string token)
    {
        var span = list.AsSpan();
        foreach (var range in span.Split(','))
        {
            if (span[range].Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
