using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HardenedGateway.Testing;

/// <summary>
/// A real <c>redis-server</c> of this test's own, on a free loopback port, with persistence off; stopped
/// (and if need be restarted on the same port, or paused) by its own process id. CI installs Debian's
/// package and sets <c>HARDENED_GATEWAY_REQUIRE_REDIS=1</c>, so there a missing server fails the test;
/// elsewhere the test is ignored with instructions.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string InstallHint = "redis-server was not found on PATH or at /usr/bin/redis-server; install the 'redis-server' package (apt-get install -y redis-server) or run build/ci-install-tools.sh.";

    private readonly string _executable;
    private Process? _process;

    private RedisServer(string executable, int port)
    {
        _executable = executable;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Gets the StackExchange.Redis configuration string of this server.</summary>
    public string Configuration => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    public static async Task<RedisServer> StartAsync()
    {
        var executable = Find();
        if (executable is null)
        {
            if (Environment.GetEnvironmentVariable("HARDENED_GATEWAY_REQUIRE_REDIS") == "1")
            {
                Assert.Fail(InstallHint);
            }

            Assert.Ignore(InstallHint);
        }

        var server = new RedisServer(executable!, FreePort());
        await server.StartProcessAsync().ConfigureAwait(false);
        return server;
    }

    /// <summary>Kills the server (SIGKILL, by its process id): connections drop at once and every key is lost.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Starts the server again on the same port, empty.</summary>
    public Task RestartAsync() => StartProcessAsync();

    /// <summary>Freezes the server (SIGSTOP to its own process id): connections stay open, nothing answers.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>Lets a paused server go on (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    /// <summary>Sends one command over a fresh connection and returns the reply as text (integers and bulk strings as their value).</summary>
    public async Task<string> CommandAsync(params string[] arguments)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString())).ConfigureAwait(false);
        var reply = new StringBuilder();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!IsComplete(reply.ToString()))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            reply.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        var text = reply.ToString();
        return text[0] switch
        {
            ':' or '+' or '-' => text[1..].TrimEnd('\r', '\n'),
            '$' when text.StartsWith("$-1", StringComparison.Ordinal) => string.Empty,
            '$' => text[(text.IndexOf('\n', StringComparison.Ordinal) + 1)..].TrimEnd('\r', '\n'),
            _ => text,
        };
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            await ResumeAsync().ConfigureAwait(false);
        }

        await KillAsync().ConfigureAwait(false);
    }

    private static bool IsComplete(string reply)
    {
        if (reply.Length == 0 || !reply.EndsWith("\r\n", StringComparison.Ordinal))
        {
            return false;
        }

        if (reply[0] != '$')
        {
            return true;
        }

        var length = int.Parse(reply.AsSpan(1, reply.IndexOf('\r', StringComparison.Ordinal) - 1), CultureInfo.InvariantCulture);
        return length < 0 || Encoding.UTF8.GetByteCount(reply) >= reply.IndexOf('\n', StringComparison.Ordinal) + 1 + length + 2;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? Find()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null;
    }

    private async Task SignalAsync(string signal)
    {
        if (ProcessId is not { } pid)
        {
            return;
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    private async Task StartProcessAsync()
    {
        var startInfo = new ProcessStartInfo(_executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no" })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo)!;
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Ready when it answers PING; bounded.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await CommandAsync("PING").ConfigureAwait(false) == "PONG")
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
                if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new InvalidOperationException($"redis-server did not start on port {Port}.", ex);
                }
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }
}
