using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// Round-trip latency of a small WebSocket message (WS-001): straight to a Kestrel echo upstream, through
/// the gateway's tunnel, and through YARP 2.3.0's tunnel, all three on 127.0.0.1 in this one process.
/// One open WebSocket per target; each round sends <c>--messages</c> messages one at a time (send, wait for
/// the echo) on every target in turn (A B C, A B C, ...), so machine drift falls on all of them alike.
/// </summary>
internal static class WebSocketLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = new ConfigurationBuilder().AddCommandLine(args).Build();
        var messages = options.GetValue("messages", 2000);
        var rounds = options.GetValue("rounds", 5);
        var size = options.GetValue("size", 32);
        var warmup = options.GetValue("warmup", 500);

        await using var upstream = await LoadHostCommon.StartInProcessAsync(static builder => { }, static app =>
        {
            app.UseWebSockets();
            app.Map("/ws", EchoAsync);
        });
        var upstreamUri = LoadHostCommon.Address(upstream);

        await using var gateway = await LoadHostCommon.StartInProcessAsync(
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["HardenedGateway:Proxies:bench:PathPrefix"] = "/bench",
                    ["HardenedGateway:Proxies:bench:Upstream"] = upstreamUri.ToString(),
                    ["HardenedGateway:Proxies:bench:WebSockets:Enabled"] = "true",
                });
                builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
            },
            static _ => { });

        await using var yarp = await LoadHostCommon.StartInProcessAsync(
            builder => builder.Services.AddReverseProxy().LoadFromMemory(
                [new RouteConfig { RouteId = "bench", ClusterId = "bench", Match = new RouteMatch { Path = "/bench/{**rest}" }, Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = "/bench" }] }],
                [new ClusterConfig { ClusterId = "bench", Destinations = new Dictionary<string, DestinationConfig> { ["upstream"] = new DestinationConfig { Address = upstreamUri.ToString() } } }]),
            static app => app.MapReverseProxy());

        (string Name, Uri Uri)[] targets =
        [
            ("direct", WebSocketUri(upstreamUri, "/ws")),
            ("gateway", WebSocketUri(LoadHostCommon.Address(gateway), "/bench/ws")),
            ("yarp", WebSocketUri(LoadHostCommon.Address(yarp), "/bench/ws")),
        ];

        var sockets = new ClientWebSocket[targets.Length];
        var samples = new List<double>[targets.Length];
        var message = new byte[size];
        var receive = new byte[Math.Max(size, 1024)];
        for (var i = 0; i < targets.Length; i++)
        {
            sockets[i] = new ClientWebSocket();
            sockets[i].Options.Proxy = null;
            sockets[i].Options.KeepAliveInterval = TimeSpan.Zero;
            await sockets[i].ConnectAsync(targets[i].Uri, CancellationToken.None);
            samples[i] = new List<double>(messages * rounds);
            await RoundTripsAsync(sockets[i], message, receive, warmup, samples: null);
        }

        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < targets.Length; i++)
            {
                await RoundTripsAsync(sockets[i], message, receive, messages, samples[i]);
            }
        }

        foreach (var socket in sockets)
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            socket.Dispose();
        }

        Report(targets, samples, messages, rounds, size);
        return 0;
    }

    private static async Task RoundTripsAsync(ClientWebSocket socket, byte[] message, byte[] receive, int count, List<double>? samples)
    {
        for (var n = 0; n < count; n++)
        {
            var started = Stopwatch.GetTimestamp();
            await socket.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            var received = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(receive.AsMemory(received), CancellationToken.None);
                received += result.Count;
            }
            while (!result.EndOfMessage);

            samples?.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
    }

    private static void Report((string Name, Uri Uri)[] targets, List<double>[] samples, int messages, int rounds, int size)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"WebSocket round trip, {size}-byte binary message, {rounds} rounds x {messages} messages per target, one connection each (microseconds)"));
        Console.WriteLine();
        Console.WriteLine("| target | p50 | p90 | p99 | mean | p50 / direct | p99 / direct | p50 / yarp |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var stats = new (double P50, double P90, double P99, double Mean)[targets.Length];
        for (var i = 0; i < targets.Length; i++)
        {
            var sorted = samples[i].ToArray();
            Array.Sort(sorted);
            stats[i] = (Percentile(sorted, 0.50), Percentile(sorted, 0.90), Percentile(sorted, 0.99), sorted.Average());
        }

        for (var i = 0; i < targets.Length; i++)
        {
            var (p50, p90, p99, mean) = stats[i];
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {targets[i].Name} | {p50:0} | {p90:0} | {p99:0} | {mean:0} | {p50 / stats[0].P50:0.00} | {p99 / stats[0].P99:0.00} | {p50 / stats[2].P50:0.00} |"));
        }
    }

    private static double Percentile(double[] sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];

    private static async Task EchoAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
        }
    }

    private static Uri WebSocketUri(Uri http, string path) => new UriBuilder(http) { Scheme = "ws", Path = path }.Uri;
}
