using System.Diagnostics;
using System.Globalization;
using System.Net;
using HardenedGateway.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// Issue 12's side-by-side: the simulated inference engine (capacity 8, 50 ms base delay) at 8x overload
/// (64 closed-loop clients) behind the gateway with no limit, a static limit too high (64), a static limit
/// right (8) and the adaptive limit, each on a fresh engine and gateway in this process. Prints goodput,
/// p99 response-header latency at the engine, p99 latency the clients saw (queue included) and, for the
/// adaptive limit, when it settled in [C/2, 2C].
/// </summary>
internal static class AdaptiveOverloadScenario
{
    private const int Capacity = 8;
    private const int Clients = 8 * Capacity;
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(50);

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length == 2 && args[0] == "--seconds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        var warmup = Math.Min(5, seconds / 4);
        Console.WriteLine($"simulated engine: C={Capacity}, base delay {BaseDelay.TotalMilliseconds} ms, best {Capacity / BaseDelay.TotalSeconds:0} answers/s; {Clients} closed-loop clients; {seconds} s per variant, steady state from {warmup} s; queue mode (QueueTimeout 30 s) for every limit");
        Console.WriteLine();
        Console.WriteLine("| variant | goodput /s | % of best | p99 header latency at the engine | p99 client latency (queue included) | limit (steady state) | settled in [C/2, 2C] after |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, settings) in Variants())
        {
            var row = await RunVariantAsync(settings, seconds, warmup);
            Console.WriteLine($"| {name} | {row.Goodput:0} | {row.Goodput / (Capacity / BaseDelay.TotalSeconds) * 100:0} % | {row.EngineP99:0} ms | {row.ClientP99:0} ms | {row.Limits} | {row.Settled} |");
        }

        return 0;
    }

    private static IEnumerable<(string Name, Dictionary<string, string?> Settings)> Variants()
    {
        yield return ("no limit", []);
        yield return ("static 64", new() { ["MaxConcurrent"] = "64", ["QueueTimeout"] = "00:00:30" });
        yield return ("static 8", new() { ["MaxConcurrent"] = "8", ["QueueTimeout"] = "00:00:30" });
        yield return ("adaptive (defaults, MaxLimit 64)", new()
        {
            ["AdaptiveConcurrency:Enabled"] = "true",
            ["AdaptiveConcurrency:MaxLimit"] = "64",
            ["QueueTimeout"] = "00:00:30",
        });
    }

    private static async Task<(double Goodput, double EngineP99, double ClientP99, string Limits, string Settled)> RunVariantAsync(Dictionary<string, string?> proxy, int seconds, int warmup)
    {
        await using var engine = await SimulatedInferenceEngine.StartAsync(Capacity, BaseDelay);
        var settings = new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = engine.BaseAddress.ToString(),
        };
        foreach (var (key, value) in proxy)
        {
            settings["HardenedGateway:Proxies:ai:" + key] = value;
        }

        await using var app = await LoadHostCommon.StartInProcessAsync(builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
        });
        var address = LoadHostCommon.Address(app);
        app.Services.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var upstream);
        var limiter = upstream!.Limiter;

        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 1000 }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        using var stop = new CancellationTokenSource();
        var started = Stopwatch.GetTimestamp();
        var results = new List<(double At, double LatencyMs, bool Ok)>();
        var limits = new List<(double At, int Limit)>();
        var gate = new Lock();

        var loops = Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
        {
            var uri = new Uri("/api/ai/infer", UriKind.Relative);
            while (!stop.IsCancellationRequested)
            {
                var sent = Stopwatch.GetTimestamp();
                bool ok;
                try
                {
                    using var response = await client.GetAsync(uri, stop.Token);
                    await response.Content.ReadAsByteArrayAsync(stop.Token);
                    ok = response.StatusCode == HttpStatusCode.OK;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException)
                {
                    ok = false;
                }

                lock (gate)
                {
                    results.Add((Stopwatch.GetElapsedTime(started).TotalSeconds, Stopwatch.GetElapsedTime(sent).TotalMilliseconds, ok));
                }
            }
        })).ToList();
        loops.Add(Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && limiter is not null)
            {
                lock (gate)
                {
                    limits.Add((Stopwatch.GetElapsedTime(started).TotalSeconds, limiter.MaxConcurrent));
                }

                await Task.Delay(100, CancellationToken.None);
            }
        }));

        await Task.Delay(TimeSpan.FromSeconds(warmup));
        var steadyFrom = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(seconds - warmup));
        var end = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(70));
        await app.StopAsync();

        var steady = results.Where(r => r.At >= warmup && r.At < end).ToArray();
        var goodput = steady.Count(r => r.Ok) / (end - warmup);
        var clientP99 = SimulatedInferenceEngine.Percentile(steady.Where(r => r.Ok).Select(r => r.LatencyMs).ToArray(), 99);
        var engineP99 = SimulatedInferenceEngine.Percentile(engine.DelaysSince(steadyFrom), 99);
        var steadyLimits = limits.Where(l => l.At >= warmup).Select(l => l.Limit).ToArray();
        var limitText = limiter is null ? "none" : limiter.IsAdaptive
            ? $"{steadyLimits.Min()}..{steadyLimits.Max()} (median {steadyLimits.Order().ElementAt(steadyLimits.Length / 2)})"
            : limiter.MaxConcurrent.ToString(CultureInfo.InvariantCulture);
        var settled = "n/a";
        if (limiter?.IsAdaptive == true)
        {
            var lastOutside = limits.Where(l => l.Limit < Capacity / 2 || l.Limit > 2 * Capacity).Select(l => l.At).DefaultIfEmpty(0).Max();
            settled = $"{lastOutside:0.0} s";
        }

        return (goodput, engineP99, clientP99, limitText, settled);
    }
}
