using System.Diagnostics;
using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.Reliability;

/// <summary>
/// RS-001, EC-002: a token stream that reaches the gateway in dribbles (Toxiproxy's slicer and
/// bandwidth toxics) is still passed on event by event, and the stream idle timer, which restarts on
/// every read and write, never cuts it while bytes flow, even when one event takes longer to arrive
/// than the idle timeout.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class StreamingUnderFaultTests
{
    private const int Events = 3;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    public static IEnumerable<TestCaseData> Toxics()
    {
        // 16-byte slices 20 ms apart: a 1.5 KB event takes about 1.9 s, each slice well inside the 1 s idle timeout
        // (with room for a loaded machine's late timers).
        yield return new TestCaseData(new Toxic(ToxicKind.Slicer, ToxicStream.Downstream) { SliceSize = 16, SliceDelay = TimeSpan.FromMilliseconds(20) })
            .SetArgDisplayNames("slicer 16 B every 20 ms");

        // 1 KB/s goes out in 51-byte pieces every 50 ms: a 1.5 KB event takes about 1.5 s.
        yield return new TestCaseData(new Toxic(ToxicKind.Bandwidth, ToxicStream.Downstream) { RateKilobytesPerSecond = 1 })
            .SetArgDisplayNames("bandwidth 1 KB/s");
    }

    [TestCaseSource(nameof(Toxics))]
    public async Task Get_EventStreamThroughDribblingUpstream_EventsArriveOneByOneAndIdleTimerNeverFires(Toxic toxic)
    {
        var read = Enumerable.Range(0, Events).Select(_ => new Gate()).ToArray();
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            for (var i = 0; i < Events; i++)
            {
                // Each event is produced only after the client has read the previous one: proof of a flush per event.
                if (i > 0)
                {
                    await read[i - 1].WaitAsync(context.RequestAborted);
                }

                await context.Response.WriteAsync(Event(i), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }));
        await using var faults = FaultProxy.Start(upstream.BaseAddress);
        faults.Add(toxic);
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(faults.BaseAddress).With("StreamIdleTimeout", "00:00:01").With("MaxConcurrent", "2").WithBreaker(1, TimeSpan.FromMinutes(1)));
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
        var pool = gateway.GetRequiredService<BytesPool>();

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/generate", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < Events; i++)
        {
            var waited = Stopwatch.StartNew();
            Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo(Event(i).TrimEnd('\n')), $"event {i} whole and in order");
            Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.Empty);
            slowest = waited.Elapsed > slowest ? waited.Elapsed : slowest;
            read[i].Open();
        }

        Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.Null, "the stream ends cleanly, not cut by the idle timer");
        Assert.That(slowest, Is.GreaterThan(IdleTimeout), "an event took longer to dribble in than the idle timeout, so the timer was really exercised");
        Assert.That(
            await Eventually.HoldsAsync(() => ai!.Metrics.GetRequestCount(200) == 1 && ai.Limiter!.Available == 2 && pool.OutstandingCount == 0),
            Is.True,
            $"200 counted once, slots {ai!.Limiter!.Available}/2, buffers outstanding {pool.OutstandingCount}");
        Assert.Multiple(() =>
        {
            Assert.That(ai.Metrics.GetErrorCount(GatewayErrorReason.UpstreamAborted), Is.Zero);
            Assert.That(ai.CircuitBreaker!.ConsecutiveFailures, Is.Zero);
        });
    }

    /// <summary>An event of about 1.5 KB.</summary>
    private static string Event(int i) => $"data: token {i} {new string((char)('a' + i), 1500)}\n\n";
}
