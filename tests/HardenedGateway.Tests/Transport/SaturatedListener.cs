using System.Net;
using System.Net.Sockets;

namespace HardenedGateway.Tests.Transport;

/// <summary>
/// A loopback listener that never accepts and whose accept backlog is full, so a further TCP connect to
/// it neither completes nor is refused: the kernel drops the SYN. Only 127.0.0.1 is ever used.
/// </summary>
internal sealed class SaturatedListener : IDisposable
{
    private const int MaxClients = 64;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(500);

    private readonly Socket _listener;
    private readonly List<Socket> _clients = [];

    private SaturatedListener(Socket listener)
    {
        _listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public Uri Uri => new($"http://{EndPoint.Address}:{EndPoint.Port}/");

    public static async Task<SaturatedListener> CreateAsync()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var saturated = new SaturatedListener(listener);
        try
        {

            // Connect clients until one does not complete: from then on the backlog is full.
            while (saturated._clients.Count < MaxClients)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var probe = new CancellationTokenSource(ProbeTimeout);
                try
                {
                    await client.ConnectAsync(saturated.EndPoint, probe.Token);
                    saturated._clients.Add(client);
                }
                catch (OperationCanceledException)
                {
                    client.Dispose();
                    return saturated;
                }
            }

            throw new InvalidOperationException($"The accept backlog did not fill after {MaxClients} connections.");
        }
        catch
        {
            saturated.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _listener.Dispose();
    }
}
