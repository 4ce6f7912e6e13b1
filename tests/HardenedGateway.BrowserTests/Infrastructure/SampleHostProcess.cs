using System.Diagnostics;
using System.Text.RegularExpressions;

namespace HardenedGateway.BrowserTests.Infrastructure;

/// <summary>
/// The sample host (<c>samples/MinimalHost</c>) as users run it: its own process, out of the box (its embedded
/// demo engine as upstream), on a free loopback port, with <c>Admin:Token</c> set. Stopped by its own process id.
/// </summary>
public sealed partial class SampleHostProcess : IAsyncDisposable
{
    public const string Token = "sample-admin-token";

    private readonly Process _process;

    private SampleHostProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public static async Task<SampleHostProcess> StartAsync()
    {
        // The sample is built beside this project (same configuration), see the project reference.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var directory = Path.Combine(RepositoryPaths.Root, "samples", "MinimalHost", "bin", configuration, "net10.0");
        var assembly = Path.Combine(directory, "MinimalHost.dll");
        if (!File.Exists(assembly))
        {
            Assert.Fail($"The sample host was not built: {assembly} is missing (build tests/HardenedGateway.BrowserTests).");
        }

        var startInfo = new ProcessStartInfo(DotnetHost(), [assembly, "--urls", "http://127.0.0.1:0"])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.Environment["Admin__Token"] = Token;
        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        startInfo.Environment["Logging__Console__FormatterName"] = "simple";

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("The sample host did not start.");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("The sample host exited:\n" + output));
                return;
            }

            lock (output)
            {
                output.AppendLine(line.Data);
            }

            if (ListeningLine().Match(line.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        process.ErrorDataReceived += (_, line) =>
        {
            lock (output)
            {
                output.AppendLine(line.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return new SampleHostProcess(process, address);
        }
        catch
        {
            Stop(process);
            process.Dispose();
            throw;
        }
    }

    public HttpRequestMessage Request(HttpMethod method, string path, bool withToken = true)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (withToken)
        {
            request.Headers.Authorization = new("Bearer", Token);
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Stop(_process);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            // Our own child, by its handle (never by name).
            process.Kill(entireProcessTree: true);
        }
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
