using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HardenedGateway.Benchmarks.Cluster;

/// <summary>A redis-server of the benchmark's own on a free loopback port, persistence off, stopped by its process id.</summary>
internal sealed class LocalRedis : IAsyncDisposable
{
    private Process? _process;

    private LocalRedis(int port) => Port = port;

    public int Port { get; }

    public string Configuration => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public static async Task<LocalRedis> StartAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var redis = new LocalRedis(port);
        await redis.StartProcessAsync();
        return redis;
    }

    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            process.Dispose();
            _process = null;
        }
    }

    public Task RestartAsync() => StartProcessAsync();

    /// <summary>Reads one field of <c>INFO stats</c>, such as <c>total_commands_processed</c> (commands run inside scripts included).</summary>
    public async Task<long> InfoStatAsync(string field) => ParseField(await InfoAsync("stats"), field);

    /// <summary>Reads the calls of every command from <c>INFO commandstats</c>: a client's round trips, by command.</summary>
    public async Task<Dictionary<string, long>> CommandCallsAsync()
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in (await InfoAsync("commandstats")).Split("\r\n"))
        {
            // cmdstat_evalsha:calls=1000,usec=...
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var callsStart = line.IndexOf("calls=", StringComparison.Ordinal) + 6;
                var callsEnd = line.IndexOf(',', callsStart);
                calls[line[8..colon]] = long.Parse(line.AsSpan(callsStart, callsEnd - callsStart), CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    private static long ParseField(string info, string field)
    {
        foreach (var line in info.Split("\r\n"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"INFO has no {field}.");
    }

    private async Task<string> InfoAsync(string section)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"*2\r\n$4\r\nINFO\r\n${section.Length}\r\n{section}\r\n"));
        var buffer = new byte[16 * 1024];
        var text = new StringBuilder();
        while (text.Length < 1_000_000)
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            if (IsCompleteBulk(text.ToString()))
            {
                break;
            }
        }

        return text.ToString();
    }

    private static bool IsCompleteBulk(string reply)
    {
        var header = reply.IndexOf("\r\n", StringComparison.Ordinal);
        if (reply.Length == 0 || reply[0] != '$' || header < 0)
        {
            return false;
        }

        var length = int.Parse(reply.AsSpan(1, header - 1), CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetByteCount(reply) >= header + 2 + length + 2;
    }

    public ValueTask DisposeAsync() => new(KillAsync());

    private async Task StartProcessAsync()
    {
        var startInfo = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var argument in new[] { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no" })
        {
            startInfo.ArgumentList.Add(argument);
        }

        _process = Process.Start(startInfo)!;
        _process.OutputDataReceived += static (_, _) => { };
        _process.BeginOutputReadLine();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }

        throw new InvalidOperationException("redis-server did not start.");
    }
}
