using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HardenedGateway.IntegrationTests.Infrastructure;

/// <summary>
/// A raw TCP "upstream" on 127.0.0.1 with a free port, for answers a real server never gives:
/// garbage, resets, closing before headers, dying mid-body, hand-written hop-by-hop headers.
/// Each accepted connection is handed to the handler.
/// </summary>
public sealed class RawUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<RawConnection, Task> _handler;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _acceptedConnections;

    private RawUpstream(Func<RawConnection, Task> handler)
    {
        _handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        BaseAddress = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = AcceptLoopAsync();
    }

    public Uri BaseAddress { get; }

    public int AcceptedConnections => Volatile.Read(ref _acceptedConnections);

    public static RawUpstream Start(Func<RawConnection, Task> handler) => new(handler);

    /// <summary>An upstream that reads each request head and then writes <paramref name="response"/> and closes.</summary>
    public static RawUpstream Answering(string response) => Start(async connection =>
    {
        await connection.ReadRequestHeadAsync().ConfigureAwait(false);
        await connection.WriteAsync(response).ConfigureAwait(false);
    });

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _acceptedConnections);
            lock (_connections)
            {
                _connections.Add(HandleAsync(new RawConnection(socket, _stopping.Token)));
            }
        }
    }

    private async Task HandleAsync(RawConnection connection)
    {
        await Task.Yield();
        try
        {
            await _handler(connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The gateway went away or the test ended: nothing to serve.
        }
        finally
        {
            connection.Dispose();
        }
    }
}

/// <summary>One accepted connection of a <see cref="RawUpstream"/>.</summary>
public sealed class RawConnection(Socket socket, CancellationToken stopping) : IDisposable
{
    private readonly NetworkStream _stream = new(socket, ownsSocket: true);

    public Socket Socket { get; } = socket;

    public Stream Stream => _stream;

    public CancellationToken Stopping { get; } = stopping;

    /// <summary>Reads up to the blank line that ends the request head; returns it (ASCII), or null if the peer closed first.</summary>
    public Task<string?> ReadRequestHeadAsync() => ReadHeadAsync(_stream, Stopping);

    public async Task WriteAsync(string ascii)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(ascii), Stopping).ConfigureAwait(false);
        await _stream.FlushAsync(Stopping).ConfigureAwait(false);
    }

    /// <summary>Closes with a TCP reset (linger 0) instead of a graceful FIN.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>Reads an HTTP message head byte by byte (so no body bytes are consumed).</summary>
    public static async Task<string?> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            var read = await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return head.Length == 0 ? null : head.ToString();
            }

            head.Append((char)one[0]);
            if (head.Length >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
            {
                return head.ToString();
            }
        }
    }
}
