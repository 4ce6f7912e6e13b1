using HardenedGateway.Benchmarks.LoadHosts;
using HardenedGateway.Benchmarks.Micro;

namespace HardenedGateway.Benchmarks;

/// <summary>
/// One executable for both instruments of the performance work: the BenchmarkDotNet suite and the
/// processes that <c>build/loadtest.sh</c> starts and drives.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: HardenedGateway.Benchmarks <mode> [options]

          bench [BenchmarkDotNet args]     micro-benchmarks, e.g. bench --filter '*'
          upstream [--listeners N]         Kestrel upstream: /small /download /upload /slow?ms=N /sse /fail, /_conns
          yarp --upstream <uri>            YARP 2.3.0 host: /bench/{**rest} -> upstream, /_stats
                                           (--overload true: /shed with ConcurrencyLimiter, /open with a 503 middleware)
          gateway --upstream <uri>         AddHardenedProxy host: /bench -> upstream, /_stats
                                           (--overload true: /shed with MaxConcurrent --cap, /open with an open breaker)
          floor                            the overload scenario's floor: the gateway's 429 and 503 bytes from a bare
                                           first middleware (/shed, /open), /bench answered directly, /_stats
          sse-probe --url <uri>            time to the first server-sent event, as JSON
          slow-upstream                    Kestrel upstream for build/cluster-demo.sh: /api/ai/*?ms=N, /_max
          cluster [--requests N]           the cluster budget's cost and its Redis fallback (starts redis-server)
          ws-latency [--messages N] [--rounds N] [--size B] [--warmup N]
                                           WebSocket round trip: direct vs gateway tunnel vs YARP tunnel, in-process
          report --input <raw.jsonl> --output <results.json> [--markdown <results.md>]
          adaptive-overload [--seconds N]  simulated engine (C=8, 50 ms) at 8x overload: no limit, static 64,
                                           static 8, adaptive; goodput, p99 header latency, convergence
          overload-probe --url <uri>       closed-loop latency probe, admitted and rejected apart (--connections, --seconds)
          overload-report --input <raw.jsonl> --output <results.json> [--markdown <results.md>]

        Host modes listen on 127.0.0.1 on a free port, print "LISTENING <port>..." once ready, and stop by
        themselves after --maxLifetime seconds (default 3600) or when --parentPid is gone.
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        var rest = args[1..];
        return args[0] switch
        {
            "bench" => MicroBenchmarks.Run(rest),
            "upstream" => await UpstreamHost.RunAsync(rest),
            "yarp" => await YarpHost.RunAsync(rest),
            "gateway" => await GatewayHost.RunAsync(rest),
            "floor" => await FloorHost.RunAsync(rest),
            "sse-probe" => await SseProbe.RunAsync(rest),
            "slow-upstream" => await SlowUpstreamHost.RunAsync(rest),
            "cluster" => await Cluster.ClusterBenchmark.RunAsync(rest),
            "ws-latency" => await WebSocketLatency.RunAsync(rest),
            "report" => LoadReport.Run(rest),
            "adaptive-overload" => await AdaptiveOverloadScenario.RunAsync(rest),
            "overload-probe" => await OverloadProbe.RunAsync(rest),
            "overload-report" => OverloadReport.Run(rest),
            _ => await UnknownModeAsync(args[0]),
        };
    }

    private static async Task<int> UnknownModeAsync(string mode)
    {
        await Console.Error.WriteLineAsync($"unknown mode '{mode}'");
        await Console.Error.WriteLineAsync(Usage);
        return 2;
    }
}
