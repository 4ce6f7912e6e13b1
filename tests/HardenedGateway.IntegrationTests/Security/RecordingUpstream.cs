using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using HardenedGateway.IntegrationTests.Infrastructure;

namespace HardenedGateway.IntegrationTests.Security;

/// <summary>One request as the upstream received it: its head and, when it arrived whole, its body.</summary>
internal sealed record UpstreamRequest(string Method, string Target, string Head, string? Body)
{
    public bool Complete => Body is not null;

    public string? Header(string name) => RawClientConnection.Header(Head, name);

    public int CountHeader(string name)
    {
        var count = 0;
        foreach (var line in Head.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                count++;
            }
        }

        return count;
    }
}

/// <summary>
/// A strict raw HTTP/1.1 upstream that records every request it reads (head and body, framed by its
/// own Content-Length or chunked parser) and answers <c>upstream:{target}</c>, keeping the connection
/// open, so a second request hidden in the first one's bytes would show up as a second record.
/// </summary>
internal sealed class RecordingUpstream : IAsyncDisposable
{
    private readonly RawUpstream _server;
    private readonly ConcurrentQueue<UpstreamRequest> _requests = new();

    public RecordingUpstream() => _server = RawUpstream.Start(ServeAsync);

    public Uri BaseAddress => _server.BaseAddress;

    public IReadOnlyList<UpstreamRequest> Requests => [.. _requests];

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(RawConnection connection)
    {
        while (await connection.ReadRequestHeadAsync() is { } head)
        {
            var requestLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
            var probe = new UpstreamRequest(requestLine[0], requestLine.Length > 1 ? requestLine[1] : string.Empty, head, null);
            var body = await ReadBodyAsync(connection.Stream, probe, connection.Stopping);
            var request = probe with { Body = body };
            _requests.Enqueue(request);
            if (body is null)
            {
                return;
            }

            var answer = "upstream:" + request.Target;
            await connection.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {answer.Length}\r\n\r\n{answer}");
        }
    }

    /// <summary>Reads the body by the request's own framing; null if it is malformed or the connection ends inside it.</summary>
    private static async Task<string?> ReadBodyAsync(Stream stream, UpstreamRequest request, CancellationToken cancellationToken)
    {
        var body = new StringBuilder();
        if (request.Header("Transfer-Encoding") is { } te)
        {
            if (!string.Equals(te, "chunked", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            while (true)
            {
                var line = await ReadLineAsync(stream, cancellationToken);
                if (line is null || !int.TryParse(line.Split(';')[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size))
                {
                    return null;
                }

                if (size == 0)
                {
                    while (await ReadLineAsync(stream, cancellationToken) is { Length: > 0 })
                    {
                    }

                    return body.ToString();
                }

                if (!await ReadExactlyAsync(stream, body, size, cancellationToken) || await ReadLineAsync(stream, cancellationToken) != string.Empty)
                {
                    return null;
                }
            }
        }

        if (request.Header("Content-Length") is { } length)
        {
            return int.TryParse(length, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && await ReadExactlyAsync(stream, body, count, cancellationToken)
                ? body.ToString()
                : null;
        }

        return string.Empty;
    }

    private static async Task<bool> ReadExactlyAsync(Stream stream, StringBuilder body, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Max(1, Math.Min(count, 64 * 1024))];
        while (count > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, count)), cancellationToken);
            if (read == 0)
            {
                return false;
            }

            body.Append(Encoding.Latin1.GetString(buffer, 0, read));
            count -= read;
        }

        return true;
    }

    private static async Task<string?> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cancellationToken) == 1)
        {
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }

        return null;
    }
}
