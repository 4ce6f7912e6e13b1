using System.Diagnostics;
using System.Text;

namespace HardenedGateway.PackageTests;

/// <summary>
/// A child process with its output captured and every wait bounded: on timeout the whole process
/// tree is killed and the test fails with what the process printed.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _lineWaiters = [];

    private ChildProcess(Process process) => _process = process;

    /// <summary>Gets the <c>dotnet</c> host that runs the tests, so nested builds use the same SDK installation.</summary>
    public static string DotnetHost { get; } = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Gets everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a process; its environment is the test's, cleaned of what would leak into it, plus <paramref name="environment"/>.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        PrepareEnvironment(startInfo.Environment, environment);
        var child = new ChildProcess(new Process { StartInfo = startInfo });
        child._process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        child._process.Start();
        child._process.StandardInput.Close();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a process to its end within <paramref name="timeout"/> and fails the test unless it exits with 0.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var child = Start(fileName, arguments, workingDirectory);
        var exitCode = await child.WaitForExitAsync(timeout, cancellationToken);
        var output = child.Output;
        Assert.That(exitCode, Is.Zero, $"'{fileName} {string.Join(' ', child._process.StartInfo.ArgumentList)}' failed:\n{output}");
        return output;
    }

    /// <summary>Waits for the process to exit; kills its tree and fails the test when <paramref name="timeout"/> passes first.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            Kill();
            Assert.Fail($"'{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}' did not finish within {timeout}; killed. Output:\n{Output}");
        }

        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    /// <summary>Waits for an output line that <paramref name="match"/> accepts; fails the test if the process exits or <paramref name="timeout"/> passes first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_outputLock)
        {
            foreach (var line in _output.ToString().Split('\n'))
            {
                if (match(line.TrimEnd('\r')))
                {
                    return line.TrimEnd('\r');
                }
            }

            _lineWaiters.Add((match, found));
        }

        var exited = _process.WaitForExitAsync(cancellationToken);
        Task first;
        try
        {
            first = await Task.WhenAny(found.Task, exited).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The process did not print the expected line within {timeout}. Output:\n{Output}");
            throw;
        }

        if (first != found.Task)
        {
            Assert.Fail($"The process exited with {_process.ExitCode} before printing the expected line. Output:\n{Output}");
        }

        return await found.Task;
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // Killed but not yet reaped: nothing more a test can do.
        }

        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            _output.AppendLine(line);
            for (var i = _lineWaiters.Count - 1; i >= 0; i--)
            {
                if (_lineWaiters[i].Match(line))
                {
                    _lineWaiters[i].Found.TrySetResult(line);
                    _lineWaiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>
    /// Removes what the test host passes down but a separate build or app must not inherit (the
    /// outer MSBuild's paths, the outer app's URLs, environment and gateway settings), and turns off
    /// build servers and node reuse so no process outlives the test.
    /// </summary>
    private static void PrepareEnvironment(IDictionary<string, string?> target, IReadOnlyDictionary<string, string>? extra)
    {
        foreach (var key in target.Keys.ToArray())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) ||
                key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) ||
                key.StartsWith("HardenedGateway__", StringComparison.OrdinalIgnoreCase) ||
                key.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase))
            {
                target.Remove(key);
            }
        }

        target["MSBUILDDISABLENODEREUSE"] = "1";
        target["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        target["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        target["DOTNET_NOLOGO"] = "1";
        target["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        target["NO_PROXY"] = "127.0.0.1,localhost";
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            target[key] = value;
        }
    }
}
