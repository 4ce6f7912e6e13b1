using System.Diagnostics;

namespace HardenedGateway.Testing;

/// <summary>
/// Runs Prometheus' own linter, <c>promtool check metrics</c>. CI installs it (Debian/Ubuntu package
/// <c>prometheus</c>) and sets <c>HARDENED_GATEWAY_REQUIRE_PROMTOOL=1</c>, so there a missing promtool
/// fails the test; elsewhere the test is ignored with instructions.
/// </summary>
public static class Promtool
{
    /// <summary>Lint exit code of promtool: the text parsed, and only lint findings were reported.</summary>
    public const int LintFindingsExitCode = 3;

    public static async Task AssertPassesCheckMetricsAsync(string text)
    {
        var (exitCode, output) = await CheckMetricsAsync(text);
        Assert.That(exitCode, Is.Zero, "promtool check metrics reported:\n" + output + "\nfor:\n" + text);
        Assert.That(output.Trim(), Is.Empty, "promtool lint findings");
    }

    /// <summary>Runs <c>promtool check metrics</c> on the text; ignores or fails the test when promtool is missing.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string text)
    {
        var promtool = Find();
        if (promtool is null)
        {
            const string Message = "promtool was not found on PATH or at /usr/bin/promtool; install the 'prometheus' package (apt-get install -y prometheus).";
            if (Environment.GetEnvironmentVariable("HARDENED_GATEWAY_REQUIRE_PROMTOOL") == "1")
            {
                Assert.Fail(Message);
            }

            Assert.Ignore(Message);
        }

        var startInfo = new ProcessStartInfo(promtool!, "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string? Find()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "promtool");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return File.Exists("/usr/bin/promtool") ? "/usr/bin/promtool" : null;
    }
}
