using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// Profiling aid for the proxy hosts (set HG_ALLOC_PROFILE=1): samples the runtime's
/// GCAllocationTick events (one per ~100 KB allocated) by type, served at <c>/_allocs</c>, to show
/// where a proxied request's bytes go. Sampling, so read it as proportions.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);

    public static bool Enabled => Environment.GetEnvironmentVariable("HG_ALLOC_PROFILE") == "1";

    public void Map(IEndpointRouteBuilder endpoints) => endpoints.MapGet("/_allocs", (bool? reset) =>
    {
        var total = _bytesByType.Values.Sum();
        var top = _bytesByType.OrderByDescending(p => p.Value).Take(50)
            .Select(p => $"{p.Value * 100.0 / Math.Max(1, total),6:0.0}%  {p.Key}");
        var text = string.Join('\n', top);
        if (reset == true)
        {
            _bytesByType.Clear();
        }

        return Results.Text(text + "\n");
    });

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not "GCAllocationTick_V4" and not "GCAllocationTick_V3" || eventData.Payload is null || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        var amount = amountIndex >= 0 ? Convert.ToInt64(eventData.Payload[amountIndex], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }
}
