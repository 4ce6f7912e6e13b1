using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>Sends hand-written HTTP/1.1 requests (HttpClient normalises paths such as "..") and reads one whole answer.</summary>
public static class RawHttp
{
    /// <summary>Sends <c>GET {target}</c>; returns the status, the head and the (de-chunked) body.</summary>
    public static Task<RawResponse> GetAsync(Uri gateway, string target, string extraHeaders = "") =>
        SendAsync(gateway, $"GET {target} HTTP/1.1\r\nHost: {gateway.Authority}\r\n{extraHeaders}\r\n");

    /// <summary>Sends <paramref name="request"/> as is and reads one response (Content-Length, chunked, or up to the close).</summary>
    public static async Task<RawResponse> SendAsync(Uri gateway, string request)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(IPAddress.Loopback, gateway.Port, timeout.Token).ConfigureAwait(false);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token).ConfigureAwait(false);
        var head = await RawConnection.ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false)
            ?? throw new IOException("The gateway closed the connection without answering.");
        var status = int.Parse(head.AsSpan(9, 3), provider: CultureInfo.InvariantCulture);
        var body = new MemoryStream();
        if (Header(head, "Content-Length") is { } length)
        {
            await CopyExactlyAsync(stream, body, long.Parse(length, CultureInfo.InvariantCulture), timeout.Token).ConfigureAwait(false);
        }
        else if (Header(head, "Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
        {
            while (true)
            {
                var sizeLine = await ReadLineAsync(stream, timeout.Token).ConfigureAwait(false);
                var size = long.Parse(sizeLine.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    break;
                }

                await CopyExactlyAsync(stream, body, size, timeout.Token).ConfigureAwait(false);
                await ReadLineAsync(stream, timeout.Token).ConfigureAwait(false);
            }
        }
        else if (status is not (204 or 304) && status >= 200)
        {
            await stream.CopyToAsync(body, timeout.Token).ConfigureAwait(false);
        }

        return new RawResponse(status, head, Encoding.ASCII.GetString(body.ToArray()));
    }

    /// <summary>The first value of a header in a raw head, or null.</summary>
    public static string? Header(string head, string name)
    {
        foreach (var line in head.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    private static async Task CopyExactlyAsync(Stream source, Stream destination, long count, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        while (count > 0)
        {
            var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException("The response body ended early.");
            }

            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            count -= read;
        }
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false) == 1)
        {
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }

        throw new IOException("The response ended inside a chunk header.");
    }
}

/// <summary>A raw response: its status, its head and its body.</summary>
public sealed record RawResponse(int Status, string Head, string Body);
