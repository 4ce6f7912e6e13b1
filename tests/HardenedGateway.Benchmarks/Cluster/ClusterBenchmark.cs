using System.Diagnostics;
using System.Globalization;
using System.Net;
using HardenedGateway.Benchmarks.LoadHosts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Benchmarks.Cluster;

/// <summary>
/// The figures of docs/replicas.md: what the cluster budget (HardenedGateway.Redis) costs per request
/// against the same gateway with its local limit only, and how fast it falls back and recovers when
/// Redis stops and starts. Everything on 127.0.0.1, in one process, with a redis-server of its own.
/// </summary>
internal static class ClusterBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
        var requests = configuration.GetValue("requests", 3000);
        var rounds = configuration.GetValue("rounds", 3);
        var concurrency = configuration.GetValue("concurrency", 16);
        var seconds = configuration.GetValue("seconds", 3);

        await using var redis = await LocalRedis.StartAsync();
        await using var upstream = await StartUpstreamAsync();
        var upstreamUri = LoadHostCommon.Address(upstream);
        await using var local = await StartGatewayAsync(upstreamUri, redis: null);
        await using var cluster = await StartGatewayAsync(upstreamUri, redis.Configuration);
        using var localClient = CreateClient(local);
        using var clusterClient = CreateClient(cluster);
        var gate = cluster.Services.GetRequiredService<HardenedProxyRegistry>().Upstreams[0].AdmissionGate!;

        Console.WriteLine($"cluster benchmark: {rounds} rounds x {requests} sequential requests per target, throughput {concurrency} workers x {seconds} s, loopback, {Environment.ProcessorCount} cores");
        await SequentialAsync(localClient, 500);
        await SequentialAsync(clusterClient, 500);

        var localLatencies = new List<double>();
        var clusterLatencies = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            localLatencies.AddRange(await SequentialAsync(localClient, requests));
            clusterLatencies.AddRange(await SequentialAsync(clusterClient, requests));
        }

        // Redis commands per request, from the server's own counter (the INFO call itself counts one).
        // Round trips per request from INFO commandstats (a script is one call however many commands it runs).
        var before = await redis.InfoStatAsync("total_commands_processed");
        var callsBefore = await redis.CommandCallsAsync();
        await SequentialAsync(clusterClient, 1000);
        await Task.Delay(200);
        var callsAfter = await redis.CommandCallsAsync();
        var after = await redis.InfoStatAsync("total_commands_processed");
        var commandsPerRequest = (after - before - 2) / 1000.0;
        var roundTrips = new List<string>();
        double roundTripsPerRequest = 0;
        foreach (var (command, calls) in callsAfter)
        {
            // commandstats also counts the commands a script runs inside Redis; the client sends only these.
            var delta = calls - callsBefore.GetValueOrDefault(command);
            if (delta > 0 && command is "eval" or "evalsha" or "zrem")
            {
                roundTrips.Add(Invariant($"{command} {delta / 1000.0:0.00}"));
                roundTripsPerRequest += delta / 1000.0;
            }
        }

        double localRps = 0, clusterRps = 0;
        for (var round = 0; round < 2; round++)
        {
            localRps += await ThroughputAsync(localClient, concurrency, TimeSpan.FromSeconds(seconds));
            clusterRps += await ThroughputAsync(clusterClient, concurrency, TimeSpan.FromSeconds(seconds));
        }

        // Fallback: a request loop runs while Redis is killed; how long until the gate gives up on it, and the slowest request.
        using var stop = new CancellationTokenSource();
        var during = new List<(long Started, double Ms, HttpStatusCode Status)>();
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await clusterClient.GetAsync(new Uri("/api/ai/x", UriKind.Relative));
                lock (during)
                {
                    during.Add((started, Stopwatch.GetElapsedTime(started).TotalMilliseconds, response.StatusCode));
                }
            }
        });
        await Task.Delay(300);
        var killedAt = Stopwatch.GetTimestamp();
        await redis.KillAsync();
        while (!gate.IsDegraded && Stopwatch.GetElapsedTime(killedAt) < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1);
        }

        var fallback = Stopwatch.GetElapsedTime(killedAt);
        await Task.Delay(1000);
        await redis.RestartAsync();
        var restartedAt = Stopwatch.GetTimestamp();
        while (gate.IsDegraded && Stopwatch.GetElapsedTime(restartedAt) < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(1);
        }

        var recovery = Stopwatch.GetElapsedTime(restartedAt);
        await stop.CancelAsync();
        await loop;
        List<(long Started, double Ms, HttpStatusCode Status)> outage;
        lock (during)
        {
            outage = during.FindAll(r => r.Started >= killedAt);
        }

        var localP50 = Percentile(localLatencies, 0.50);
        var localP99 = Percentile(localLatencies, 0.99);
        var clusterP50 = Percentile(clusterLatencies, 0.50);
        var clusterP99 = Percentile(clusterLatencies, 0.99);
        Console.WriteLine();
        Console.WriteLine("| figure | local limit only | with cluster budget | difference |");
        Console.WriteLine("| --- | --- | --- | --- |");
        Console.WriteLine(Invariant($"| latency p50 (sequential, ms) | {localP50:0.000} | {clusterP50:0.000} | +{clusterP50 - localP50:0.000} |"));
        Console.WriteLine(Invariant($"| latency p99 (sequential, ms) | {localP99:0.000} | {clusterP99:0.000} | +{clusterP99 - localP99:0.000} |"));
        Console.WriteLine(Invariant($"| throughput ({concurrency} workers, req/s) | {localRps / 2:0} | {clusterRps / 2:0} | x{clusterRps / localRps:0.00} |"));
        Console.WriteLine(Invariant($"| Redis round trips per request | 0 | {roundTripsPerRequest:0.00} ({string.Join(", ", roundTrips)}) | |"));
        Console.WriteLine(Invariant($"| Redis commands per request (inside scripts too) | 0 | {commandsPerRequest:0.00} | |"));
        Console.WriteLine(Invariant($"| Redis killed: time until local limits only (ms) | | {fallback.TotalMilliseconds:0.0} | |"));
        Console.WriteLine(Invariant($"| Redis killed: requests answered / slowest (ms) | | {outage.Count(static r => r.Status == HttpStatusCode.OK)} of {outage.Count} / {(outage.Count == 0 ? 0 : outage.Max(static r => r.Ms)):0.0} | |"));
        Console.WriteLine(Invariant($"| Redis restarted: time until shared budget again (ms) | | {recovery.TotalMilliseconds:0} | |"));
        return 0;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static async Task<List<double>> SequentialAsync(HttpClient client, int count)
    {
        var latencies = new List<double>(count);
        var uri = new Uri("/api/ai/x", UriKind.Relative);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(uri);
            await response.Content.ReadAsByteArrayAsync();
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"unexpected {(int)response.StatusCode}");
            }
        }

        return latencies;
    }

    private static async Task<double> ThroughputAsync(HttpClient client, int workers, TimeSpan duration)
    {
        long done = 0;
        var watch = Stopwatch.StartNew();
        var uri = new Uri("/api/ai/x", UriKind.Relative);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (watch.Elapsed < duration)
            {
                using var response = await client.GetAsync(uri);
                await response.Content.ReadAsByteArrayAsync();
                Interlocked.Increment(ref done);
            }
        }));
        return done / watch.Elapsed.TotalSeconds;
    }

    private static double Percentile(List<double> values, double quantile)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];
    }

    private static HttpClient CreateClient(WebApplication app) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = LoadHostCommon.Address(app) };

    private static Task<WebApplication> StartUpstreamAsync() =>
        LoadHostCommon.StartInProcessAsync(static _ => { }, static app => app.Map("/{**rest}", static context => context.Response.WriteAsync("ok")));

    private static Task<WebApplication> StartGatewayAsync(Uri upstream, string? redis) =>
        LoadHostCommon.StartInProcessAsync(builder =>
        {
            builder.Services.AddHardenedProxy(options => options.Proxies["ai"] = new ProxyOptions
            {
                PathPrefix = "/api/ai",
                Upstream = upstream.ToString(),
                MaxConcurrent = 10_000,
                Cluster = { MaxConcurrent = redis is null ? 0 : 100_000 },
            });
            if (redis is not null)
            {
                builder.Services.AddHardenedGatewayRedis(options => options.Configuration = redis);
            }
        });
}
