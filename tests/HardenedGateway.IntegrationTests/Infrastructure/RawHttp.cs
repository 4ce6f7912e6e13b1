using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>Sends a hand-written HTTP/1.1 request (HttpClient normalises paths such as "..") and reads the response head.</summary>
public static class RawHttp
{
    /// <summary>Sends <c>GET {target}</c> with <c>Connection: close</c>; returns the status code and the response head.</summary>
    public static async Task<(int Status, string Head)> GetAsync(Uri gateway, string target, string extraHeaders = "")
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.Port).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var stream = client.GetStream();
        var request = $"GET {target} HTTP/1.1\r\nHost: {gateway.Authority}\r\n{extraHeaders}Connection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request)).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var head = await RawConnection.ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false)
            ?? throw new IOException("The gateway closed the connection without answering.");
        var status = int.Parse(head.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
        return (status, head);
    }
}
