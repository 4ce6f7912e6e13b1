using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// Measures the time from sending a request to receiving the first complete server-sent event
/// (EC-002, T035: AI token streaming must not wait for the proxy's buffers), over sequential
/// requests on one kept-alive connection, and prints the distribution as JSON.
/// </summary>
internal static class SseProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
        var url = configuration["url"] ?? throw new ArgumentException("--url <uri> is required");
        var samples = configuration.GetValue("samples", 20);
        var warmup = configuration.GetValue("warmup", 3);

        using var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpMessageInvoker(handler);
        var times = new List<double>(samples);
        var failures = 0;
        for (var i = 0; i < warmup + samples; i++)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                var elapsed = await TimeToFirstEventAsync(client, url, timeout.Token);
                if (i >= warmup)
                {
                    times.Add(elapsed.TotalMilliseconds);
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException or IOException or InvalidDataException)
            {
                failures++;
                await Console.Error.WriteLineAsync($"sse-probe: {exception.GetType().Name}: {exception.Message}");
            }
        }

        times.Sort();
        var result = new Dictionary<string, object>
        {
            ["samples"] = times.Count,
            ["failures"] = failures,
            ["p50Ms"] = Percentile(times, 0.50),
            ["p90Ms"] = Percentile(times, 0.90),
            ["minMs"] = times.Count > 0 ? times[0] : double.NaN,
            ["maxMs"] = times.Count > 0 ? times[^1] : double.NaN,
        };
        Console.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return failures == 0 ? 0 : 1;
    }

    private static async Task<TimeSpan> TimeToFirstEventAsync(HttpMessageInvoker client, string url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        var started = Stopwatch.GetTimestamp();
        using var response = await client.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);

        var buffer = new byte[4096];
        var filled = 0;
        TimeSpan? firstEvent = null;
        int read;
        while ((read = await body.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
        {
            if (firstEvent is null)
            {
                filled += read;
                if (buffer.AsSpan(0, filled).IndexOf("\n\n"u8) >= 0)
                {
                    firstEvent = Stopwatch.GetElapsedTime(started);
                }
                else if (filled == buffer.Length)
                {
                    throw new InvalidDataException("no event in the first 4 KiB");
                }
            }

            if (firstEvent is not null)
            {
                filled = 0; // read the rest to the end, so the connection is reused for the next sample
            }
        }

        return firstEvent ?? throw new InvalidDataException("the stream ended without an event");
    }

    private static double Percentile(List<double> sorted, double quantile) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];
}
