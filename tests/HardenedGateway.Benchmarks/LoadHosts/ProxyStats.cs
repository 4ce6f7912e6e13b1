using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// <c>GET /_stats[?reset=true]</c> on the proxy hosts: the in-process figures the harness reads
/// around each run (allocations, GC counts and pauses). <c>reset=true</c> starts a new interval for
/// the longest-pause figures; the others are cumulative and the harness takes differences.
/// </summary>
internal static class ProxyStats
{
    public static void MapProxyStats(this IEndpointRouteBuilder endpoints, GcPauseListener pauses) =>
        endpoints.MapGet("/_stats", (bool? reset) =>
        {
            var interval = pauses.Read(reset ?? false);
            using var process = Process.GetCurrentProcess();
            return Results.Json(new StatsSnapshot(
                AllocatedBytes: GC.GetTotalAllocatedBytes(precise: true),
                Gen0Collections: GC.CollectionCount(0),
                Gen1Collections: GC.CollectionCount(1),
                Gen2Collections: GC.CollectionCount(2),
                TotalPauseMs: GC.GetTotalPauseDuration().TotalMilliseconds,
                IntervalGcPauses: interval.GcPauses,
                IntervalTotalGcPauseMs: interval.TotalGcPauseMs,
                IntervalMaxGcPauseMs: interval.MaxGcPauseMs,
                IntervalMaxOtherSuspensionMs: interval.MaxOtherSuspensionMs,
                CpuMs: process.TotalProcessorTime.TotalMilliseconds,
                WorkingSetBytes: Environment.WorkingSet,
                ThreadPoolThreads: ThreadPool.ThreadCount,
                IsServerGc: System.Runtime.GCSettings.IsServerGC));
        });

    internal sealed record StatsSnapshot(
        long AllocatedBytes,
        int Gen0Collections,
        int Gen1Collections,
        int Gen2Collections,
        double TotalPauseMs,
        long IntervalGcPauses,
        double IntervalTotalGcPauseMs,
        double IntervalMaxGcPauseMs,
        double IntervalMaxOtherSuspensionMs,
        double CpuMs,
        long WorkingSetBytes,
        int ThreadPoolThreads,
        bool IsServerGc);
}
