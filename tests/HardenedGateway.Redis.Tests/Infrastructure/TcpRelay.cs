using System.Net;
using System.Net.Sockets;

namespace HardenedGateway.Redis.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay in front of Redis for one replica. <see cref="CutAsync"/> drops its connections
/// and refuses new ones: to Redis the replica is gone (it can neither renew nor release), as if it had crashed.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _cut = new();
    private readonly List<TcpClient> _connections = [];
    private Task _acceptLoop = Task.CompletedTask;

    private TcpRelay(int targetPort) => _targetPort = targetPort;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Configuration => "127.0.0.1:" + Port;

    public static TcpRelay Start(int targetPort)
    {
        var relay = new TcpRelay(targetPort);
        relay._listener.Start();
        relay._acceptLoop = relay.AcceptAsync();
        return relay;
    }

    /// <summary>Drops every relayed connection and stops listening (a reconnect is refused).</summary>
    public async Task CutAsync()
    {
        await _cut.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                // A pipe may have disposed its ends already (Client is null then).
                connection.Client?.Close(0);
                connection.Dispose();
            }

            _connections.Clear();
        }

        await _acceptLoop.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_cut.IsCancellationRequested)
        {
            await CutAsync().ConfigureAwait(false);
        }

        _cut.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_cut.IsCancellationRequested)
            {
                var inbound = await _listener.AcceptTcpClientAsync(_cut.Token).ConfigureAwait(false);
                var outbound = new TcpClient();
                await outbound.ConnectAsync(IPAddress.Loopback, _targetPort, _cut.Token).ConfigureAwait(false);
                lock (_connections)
                {
                    _connections.Add(inbound);
                    _connections.Add(outbound);
                }

                _ = PipeAsync(inbound, outbound);
                _ = PipeAsync(outbound, inbound);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Cut.
        }
    }

    private async Task PipeAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var destination = to.GetStream();
            int read;
            while ((read = await source.ReadAsync(buffer, _cut.Token).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), _cut.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Either side closed, or the relay was cut.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
