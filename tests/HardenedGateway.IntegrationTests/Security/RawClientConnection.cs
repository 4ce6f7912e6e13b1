using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HardenedGateway.IntegrationTests.Security;

/// <summary>
/// One raw keep-alive connection to the gateway: sends exact bytes, reads one framed answer at a
/// time, and tells a complete answer from a connection that was cut (an abort is never mistaken for
/// the end of a body).
/// </summary>
internal sealed class RawClientConnection : IDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private RawClientConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>True once the gateway closed or reset the connection.</summary>
    public bool Closed { get; private set; }

    public static async Task<RawClientConnection> OpenAsync(Uri gateway)
    {
        var client = new TcpClient { NoDelay = true };
        using var timeout = new CancellationTokenSource(ReadTimeout);
        await client.ConnectAsync(IPAddress.Loopback, gateway.Port, timeout.Token).ConfigureAwait(false);
        return new RawClientConnection(client);
    }

    /// <summary>Writes <paramref name="data"/> as Latin-1 (every char is one byte, so control and high bytes go out as written).</summary>
    public async Task SendAsync(string data)
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        await _stream.WriteAsync(Encoding.Latin1.GetBytes(data), timeout.Token).ConfigureAwait(false);
        await _stream.FlushAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Half-closes the sending side (the gateway sees the end of the request stream).</summary>
    public void ShutdownSend() => _client.Client.Shutdown(SocketShutdown.Send);

    /// <summary>
    /// Reads one answer. Interim 1xx answers are returned like any other (call again for the final one).
    /// Returns null when the connection closed before a status line; an answer whose body was cut has <see cref="ClientAnswer.Cut"/> set.
    /// </summary>
    public async Task<ClientAnswer?> ReadAnswerAsync(bool headRequest = false, TimeSpan? timeout = null)
    {
        using var cancellation = new CancellationTokenSource(timeout ?? ReadTimeout);
        var token = cancellation.Token;
        var head = await ReadHeadAsync(token).ConfigureAwait(false);
        if (head is null)
        {
            return null;
        }

        var status = head.Length >= 12 && int.TryParse(head.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        var body = new StringBuilder();
        var cut = false;
        if (headRequest || status is 204 or 304 || status < 200)
        {
            return new ClientAnswer(status, head, string.Empty, Cut: false);
        }

        if (Header(head, "Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (true)
            {
                var line = await ReadLineAsync(token).ConfigureAwait(false);
                if (line is null || !long.TryParse(line.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size))
                {
                    cut = true;
                    break;
                }

                if (size == 0)
                {
                    // Trailers up to the blank line.
                    while (await ReadLineAsync(token).ConfigureAwait(false) is { Length: > 0 })
                    {
                    }

                    break;
                }

                if (!await ReadExactlyAsync(body, size, token).ConfigureAwait(false) || await ReadLineAsync(token).ConfigureAwait(false) is null)
                {
                    cut = true;
                    break;
                }
            }
        }
        else if (Header(head, "Content-Length") is { } length)
        {
            cut = !await ReadExactlyAsync(body, long.Parse(length, CultureInfo.InvariantCulture), token).ConfigureAwait(false);
        }
        else
        {
            // Close-delimited: the body runs to the end of the connection.
            while (await FillAsync(token).ConfigureAwait(false))
            {
                body.Append(Encoding.Latin1.GetString(_buffer, _start, _end - _start));
                _start = _end;
            }
        }

        return new ClientAnswer(status, head, body.ToString(), cut);
    }

    /// <summary>Waits until the gateway closes the connection (true) or <paramref name="timeout"/> passes with it open (false); data read meanwhile is discarded.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            while (await FillAsync(cancellation.Token).ConfigureAwait(false))
            {
                _start = _end;
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
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

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }

    private async Task<string?> ReadHeadAsync(CancellationToken token)
    {
        var head = new StringBuilder();
        while (true)
        {
            if (_start == _end && !await FillAsync(token).ConfigureAwait(false))
            {
                return null;
            }

            head.Append((char)_buffer[_start++]);
            if (head.Length >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
            {
                return head.ToString();
            }
        }
    }

    private async Task<string?> ReadLineAsync(CancellationToken token)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end && !await FillAsync(token).ConfigureAwait(false))
            {
                return null;
            }

            var c = (char)_buffer[_start++];
            if (c == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append(c);
        }
    }

    private async Task<bool> ReadExactlyAsync(StringBuilder body, long count, CancellationToken token)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(token).ConfigureAwait(false))
            {
                return false;
            }

            var take = (int)Math.Min(count, _end - _start);
            body.Append(Encoding.Latin1.GetString(_buffer, _start, take));
            _start += take;
            count -= take;
        }

        return true;
    }

    private async Task<bool> FillAsync(CancellationToken token)
    {
        if (Closed)
        {
            return false;
        }

        try
        {
            var read = await _stream.ReadAsync(_buffer, token).ConfigureAwait(false);
            if (read == 0)
            {
                Closed = true;
                return false;
            }

            _start = 0;
            _end = read;
            return true;
        }
        catch (IOException)
        {
            Closed = true;
            return false;
        }
    }
}

/// <summary>One answer as a raw client saw it: status, head, body (Latin-1), and whether the connection was cut inside it.</summary>
internal sealed record ClientAnswer(int Status, string Head, string Body, bool Cut)
{
    public string? Header(string name) => RawClientConnection.Header(Head, name);
}
