using System.Net;
using HardenedGateway.IntegrationTests.CircuitBreaking;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace HardenedGateway.IntegrationTests.Aborts;

/// <summary>A client that goes away cancels the upstream call and gives back every slot and buffer (T048..T054).</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class ClientAbortTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Get_ClientCancelsBeforeHeaders_UpstreamCallCancelledSlotAndBuffersReturn()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "3").WithBreaker(1, TimeSpan.FromMinutes(1)));
        var ai = Upstream(gateway);
        var pool = gateway.GetRequiredService<BytesPool>();

        using var cancel = new CancellationTokenSource();
        var request = gateway.Client.GetAsync(new Uri("/api/ai/slow", UriKind.Relative), cancel.Token);
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 1), Is.True);
        Assert.That(ai.Limiter!.Available, Is.EqualTo(2));
        await cancel.CancelAsync();

        Assert.That(async () => await request.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await upstream.FirstAborted.WaitAsync(Bound), Throws.Nothing, "the upstream call is cancelled");
        Assert.That(await Eventually.HoldsAsync(() => ai.Limiter.Available == 3 && pool.OutstandingCount == 0), Is.True,
            $"limiter available {ai.Limiter.Available}, buffers outstanding {pool.OutstandingCount}");
        Assert.Multiple(() =>
        {
            Assert.That(ai.CircuitBreaker!.State, Is.EqualTo(CircuitState.Closed), "a client abort is not an upstream failure");
            Assert.That(ai.CircuitBreaker.ConsecutiveFailures, Is.Zero);
        });
    }

    [Test]
    public async Task Get_ClientGoesAwayMidStream_UpstreamCallCancelledSlotAndBuffersReturn()
    {
        var upstreamAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            try
            {
                for (var i = 0; ; i++)
                {
                    await context.Response.WriteAsync($"data: {i}\n\n", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Task.Delay(20, context.RequestAborted);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
                upstreamAborted.TrySetResult();
            }
        }));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "2").WithBreaker(1, TimeSpan.FromMinutes(1)));
        var ai = Upstream(gateway);
        var pool = gateway.GetRequiredService<BytesPool>();

        using (var client = gateway.CreateClient())
        {
            using var response = await client.GetAsync(new Uri("/api/ai/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo("data: 0"));
            Assert.That(ai.Limiter!.Available, Is.EqualTo(1), "the slot is held while the body streams");
        }

        Assert.That(async () => await upstreamAborted.Task.WaitAsync(Bound), Throws.Nothing, "the upstream call is cancelled");
        Assert.That(await Eventually.HoldsAsync(() => ai.Limiter!.Available == 2 && pool.OutstandingCount == 0), Is.True,
            $"limiter available {ai.Limiter!.Available}, buffers outstanding {pool.OutstandingCount}");
        Assert.That(ai.CircuitBreaker!.State, Is.EqualTo(CircuitState.Closed));
    }

    [Test]
    public async Task Post_ClientGoesAwayMidUpload_SlotAndBuffersReturn()
    {
        var uploadStarted = new Gate();
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/{**rest}", async (HttpContext context) =>
        {
            var buffer = new byte[1024];
            while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
            {
                uploadStarted.Open();
            }

            return "complete";
        }));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "2").WithBreaker(1, TimeSpan.FromMinutes(1)));
        var ai = Upstream(gateway);
        var pool = gateway.GetRequiredService<BytesPool>();

        using var cancel = new CancellationTokenSource();
        using var content = new Streaming.StreamingTests.PushContent(async stream =>
        {
            await stream.WriteAsync(new byte[100]);
            await stream.FlushAsync();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancel.Token);
        });
        var request = gateway.Client.PostAsync(new Uri("/api/ai/upload", UriKind.Relative), content, cancel.Token);
        await uploadStarted.Task.WaitAsync(Bound);
        await cancel.CancelAsync();

        Assert.That(async () => await request.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await Eventually.HoldsAsync(() => ai.Limiter!.Available == 2 && pool.OutstandingCount == 0), Is.True,
            $"limiter available {ai.Limiter!.Available}, buffers outstanding {pool.OutstandingCount}");
        Assert.That(ai.CircuitBreaker!.State, Is.EqualTo(CircuitState.Closed));
    }

    [Test]
    public async Task Get_QueuedClientGoesAway_LeavesTheQueue()
    {
        await using var upstream = await HoldingUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "1").With("QueueTimeout", "00:01:00"));
        var limiter = Upstream(gateway).Limiter!;

        var holder = gateway.Client.GetAsync(new Uri("/api/ai/hold", UriKind.Relative));
        Assert.That(await Eventually.HoldsAsync(() => upstream.InFlight == 1), Is.True);
        using var cancel = new CancellationTokenSource();
        var queued = gateway.Client.GetAsync(new Uri("/api/ai/queued", UriKind.Relative), cancel.Token);
        Assert.That(await Eventually.HoldsAsync(() => limiter.QueueLength == 1), Is.True);
        await cancel.CancelAsync();

        Assert.That(async () => await queued.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await Eventually.HoldsAsync(() => limiter.QueueLength == 0), Is.True);
        upstream.Release();
        using var held = await holder.WaitAsync(Bound);
        Assert.Multiple(() =>
        {
            Assert.That(held.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(upstream.Hits, Is.EqualTo(1), "the cancelled request never reached the upstream");
        });
        Assert.That(await Eventually.HoldsAsync(() => limiter.Available == 1), Is.True);
    }

    [Test]
    public async Task Get_HalfOpenProbeCancelledByClient_FreesTheProbeSlot()
    {
        await using var upstream = await SwitchableUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var gateway = await CircuitBreakerTests.StartGatewayAsync(upstream, clock, failureThreshold: 1);
        var breaker = CircuitBreakerTests.Breaker(gateway);
        using (var failure = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative)))
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
        }

        clock.Advance(TimeSpan.FromSeconds(30));
        upstream.Status = StatusCodes.Status200OK;
        upstream.Hold = new Gate();
        using var cancel = new CancellationTokenSource();
        var probe = gateway.Client.GetAsync(new Uri("/api/ai/probe", UriKind.Relative), cancel.Token);
        Assert.That(await Eventually.HoldsAsync(() => upstream.Hits == 2), Is.True);
        Assert.That(breaker.ProbesInFlight, Is.EqualTo(1));
        await cancel.CancelAsync();
        Assert.That(async () => await probe.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());

        Assert.That(await Eventually.HoldsAsync(() => breaker.ProbesInFlight == 0), Is.True, "the cancelled probe freed its slot");
        Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen), "a cancelled probe neither closes nor re-opens the circuit");
        upstream.Hold.Open();
        using var nextProbe = await gateway.Client.GetAsync(new Uri("/api/ai/probe", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(nextProbe.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a new probe is admitted");
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
        });
    }

    private static HardenedUpstream Upstream(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
        return ai!;
    }
}
