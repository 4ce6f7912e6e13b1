using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// The overload scenario's latency probe (issue 16): a few closed-loop connections beside wrk's, timing
/// every answer and keeping admitted (2xx) and rejected answers apart, so that the admitted requests'
/// p50 and p99 are not drowned by the fast rejections. Prints one line <c>PROBEJSON {...}</c>.
/// </summary>
/// <remarks>
/// Alone, with no more connections than the target's cap, it measures the unloaded admitted latency.
/// wrk times every answer alike and has no per-status latency, hence this probe.
/// </remarks>
internal static class OverloadProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
        var url = new Uri(configuration["url"] ?? throw new ArgumentException("--url <uri> is required"));
        var connections = configuration.GetValue("connections", 16);
        var duration = TimeSpan.FromSeconds(configuration.GetValue("seconds", 10.0));

        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            MaxConnectionsPerServer = connections,
        };
        using var client = new HttpMessageInvoker(handler);
        var started = Stopwatch.GetTimestamp();
        var loops = new Task<Samples>[connections];
        for (var i = 0; i < connections; i++)
        {
            loops[i] = Task.Run(() => LoopAsync(client, url, started, duration));
        }

        var all = await Task.WhenAll(loops);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var admitted = all.SelectMany(samples => samples.Admitted).Order().ToList();
        var rejected = all.SelectMany(samples => samples.Rejected).Order().ToList();
        var failures = all.Sum(samples => samples.Failures);
        var result = new Dictionary<string, object>
        {
            ["seconds"] = elapsed,
            ["admitted"] = admitted.Count,
            ["rejected"] = rejected.Count,
            ["failures"] = failures,
            ["admittedP50Ms"] = Percentile(admitted, 0.50),
            ["admittedP90Ms"] = Percentile(admitted, 0.90),
            ["admittedP99Ms"] = Percentile(admitted, 0.99),
            ["admittedMaxMs"] = admitted.Count > 0 ? admitted[^1] : double.NaN,
            ["rejectedP50Ms"] = Percentile(rejected, 0.50),
            ["rejectedP99Ms"] = Percentile(rejected, 0.99),
        };
        var options = new JsonSerializerOptions { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
        Console.WriteLine("PROBEJSON " + JsonSerializer.Serialize(result, options));
        return 0;
    }

    private static async Task<Samples> LoopAsync(HttpMessageInvoker client, Uri url, long started, TimeSpan duration)
    {
        var samples = new Samples();
        var buffer = new byte[4096];
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var sent = Stopwatch.GetTimestamp();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                using var response = await client.SendAsync(request, timeout.Token);
                await using (var body = await response.Content.ReadAsStreamAsync(timeout.Token))
                {
                    while (await body.ReadAsync(buffer, timeout.Token) > 0)
                    {
                    }
                }

                var milliseconds = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                (response.IsSuccessStatusCode ? samples.Admitted : samples.Rejected).Add(milliseconds);
            }
            catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException or IOException)
            {
                samples.Failures++;
            }
        }

        return samples;
    }

    private static double Percentile(List<double> sorted, double quantile) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];

    private sealed class Samples
    {
        public List<double> Admitted { get; } = new(4096);

        public List<double> Rejected { get; } = new(65536);

        public int Failures { get; set; }
    }
}
