using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Reliability;

/// <summary>
/// RS-001: the fault matrix. Every Toxiproxy-style toxic between the gateway and a real Kestrel
/// upstream, and every client-side fault, gives the answer DESIGN.md's "Responses" table promises,
/// is counted (or not) by the breaker as promised, logs its event, and leaves the proxy idle:
/// no request active, every limiter slot, queue place, probe slot and pooled buffer back, and the
/// next request served.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class FaultMatrixTests
{
    private const int MaxConcurrent = 4;
    private const int BigLength = 128 * 1024;
    private const int UploadLength = 64 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Recovery = TimeSpan.FromMilliseconds(300);
    private static readonly byte[] BigBody = MakeBody(BigLength);

    private TestUpstream _upstream = null!;
    private TaskCompletionSource _uploadStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What the client sends.</summary>
    public enum Call
    {
        GetOk,
        GetBig,
        GetEndless,
        GetThenClose,
        PostUpload,
    }

    /// <summary>What the client does wrong, if anything; faults on its side run through a second proxy in front of the gateway.</summary>
    public enum ClientFault
    {
        None,
        AbortMidUpload,
        AbortMidDownload,
        StopReading,
        SlowReader,
    }

    /// <summary>What the client should observe.</summary>
    public enum Seen
    {
        /// <summary>The upstream's answer, whole.</summary>
        Complete,

        /// <summary>A gateway problem answer with a reason.</summary>
        Problem,

        /// <summary>Headers, then a cut connection: never a clean end of a truncated body.</summary>
        CutAfterHeaders,

        /// <summary>The client itself gave up or was cut; the gateway counts a 499.</summary>
        ClientGone,
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        var down = ToxicStream.Downstream;
        var up = ToxicStream.Upstream;
        yield return Case("latency+jitter response", Call.GetBig, Seen.Complete, 200, GatewayErrorReason.None, counted: false, 1, Toxic.Slow(down, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(50)));
        yield return Case("latency request", Call.PostUpload, Seen.Complete, 200, GatewayErrorReason.None, counted: false, 1, Toxic.Slow(up, TimeSpan.FromMilliseconds(100)));
        yield return Case("bandwidth response 256 KB/s", Call.GetBig, Seen.Complete, 200, GatewayErrorReason.None, counted: false, 1, new Toxic(ToxicKind.Bandwidth, down) { RateKilobytesPerSecond = 256 });
        yield return Case("bandwidth request 256 KB/s", Call.PostUpload, Seen.Complete, 200, GatewayErrorReason.None, counted: false, 1, new Toxic(ToxicKind.Bandwidth, up) { RateKilobytesPerSecond = 256 });
        yield return Case("slicer response", Call.GetBig, Seen.Complete, 200, GatewayErrorReason.None, counted: false, 1, new Toxic(ToxicKind.Slicer, down) { SliceSize = 1024, SliceVariation = 512, SliceDelay = TimeSpan.FromMilliseconds(1) });
        yield return Case("slicer request", Call.PostUpload, Seen.Complete, 200, GatewayErrorReason.None, counted: false, 1, new Toxic(ToxicKind.Slicer, up) { SliceSize = 1024, SliceVariation = 512, SliceDelay = TimeSpan.FromMilliseconds(1) });
        yield return Case("limit_data inside the response headers", Call.GetOk, Seen.Problem, 502, GatewayErrorReason.UpstreamUnreachable, counted: true, 2, new Toxic(ToxicKind.LimitData, down) { Bytes = 20 });
        yield return Case("limit_data mid response body", Call.GetBig, Seen.CutAfterHeaders, 200, GatewayErrorReason.UpstreamAborted, counted: true, 21, new Toxic(ToxicKind.LimitData, down) { Bytes = 4096 });
        yield return Case("limit_data inside the request", Call.GetOk, Seen.Problem, 502, GatewayErrorReason.UpstreamUnreachable, counted: true, 2, new Toxic(ToxicKind.LimitData, up) { Bytes = 10 });
        yield return Case("reset_peer on the first request byte", Call.GetOk, Seen.Problem, 502, GatewayErrorReason.UpstreamUnreachable, counted: true, 2, new Toxic(ToxicKind.ResetPeer, up));
        yield return Case("reset_peer after 4 KB of response", Call.GetBig, Seen.CutAfterHeaders, 200, GatewayErrorReason.UpstreamAborted, counted: true, 21, new Toxic(ToxicKind.ResetPeer, down) { Bytes = 4096 });
        yield return Case("reset_peer 200 ms into a stream", Call.GetEndless, Seen.CutAfterHeaders, 200, GatewayErrorReason.UpstreamAborted, counted: true, 21, new Toxic(ToxicKind.ResetPeer, down) { Timeout = TimeSpan.FromMilliseconds(200) });
        yield return Case("timeout holding the request", Call.GetOk, Seen.Problem, 504, GatewayErrorReason.UpstreamTimeout, counted: true, 2, new Toxic(ToxicKind.Timeout, up));
        yield return Case("timeout holding the response, closed after 200 ms", Call.GetOk, Seen.Problem, 502, GatewayErrorReason.UpstreamUnreachable, counted: true, 2, new Toxic(ToxicKind.Timeout, down) { Timeout = TimeSpan.FromMilliseconds(200) });
        yield return Case("timeout mid response body (stream idle)", Call.GetBig, Seen.CutAfterHeaders, 200, GatewayErrorReason.UpstreamAborted, counted: true, 21, new Toxic(ToxicKind.Timeout, down) { AfterBytes = 4096 });
        yield return Case("slow_close", Call.GetThenClose, Seen.Complete, 200, GatewayErrorReason.None, counted: false, 1, new Toxic(ToxicKind.SlowClose, down) { Delay = TimeSpan.FromMilliseconds(300) });
        yield return Case("down", Call.GetOk, Seen.Problem, 502, GatewayErrorReason.UpstreamUnreachable, counted: true, 2);
        yield return ClientCase("client aborts mid-upload", Call.PostUpload, ClientFault.AbortMidUpload);
        yield return ClientCase("client aborts mid-download", Call.GetEndless, ClientFault.AbortMidDownload);
        yield return ClientCase("client stops reading", Call.GetEndless, ClientFault.StopReading);
        yield return new TestCaseData(new FaultCase("client reads slowly (256 KB/s)", Call.GetBig, ClientFault.SlowReader, Seen.Complete, 200, GatewayErrorReason.None, false, 1, []))
            .SetArgDisplayNames("client reads slowly (256 KB/s)");
    }

    [OneTimeSetUp]
    public async Task StartUpstreamAsync()
    {
        _upstream = await TestUpstream.StartAsync(app =>
        {
            app.MapGet("/ok", () => "ok");
            app.MapGet("/big", (HttpContext context) =>
            {
                context.Response.ContentType = "application/octet-stream";
                context.Response.ContentLength = BigLength;
                return context.Response.Body.WriteAsync(BigBody, context.RequestAborted).AsTask();
            });
            app.MapGet("/endless", async (HttpContext context) =>
            {
                context.Response.ContentType = "application/octet-stream";
                try
                {
                    while (!context.RequestAborted.IsCancellationRequested)
                    {
                        await context.Response.Body.WriteAsync(BigBody.AsMemory(0, 16 * 1024), context.RequestAborted);
                        await context.Response.Body.FlushAsync(context.RequestAborted);
                        await Task.Delay(5, context.RequestAborted);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException)
                {
                    // the gateway went away, as it should
                }
            });
            app.MapGet("/close", (HttpContext context) =>
            {
                context.Response.Headers.Connection = "close";
                return "closing";
            });
            app.MapPost("/upload", async (HttpContext context) =>
            {
                var buffer = new byte[8192];
                long total = 0;
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    total += read;
                    Volatile.Read(ref _uploadStarted).TrySetResult();
                }

                return total.ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
        });
    }

    [OneTimeTearDown]
    public async Task StopUpstreamAsync() => await _upstream.DisposeAsync();

    [TestCaseSource(nameof(Cases))]
    public async Task Request_UnderFault_AnswersAsDesignedAndLeavesNothingBehind(FaultCase fault)
    {
        _uploadStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var faults = FaultProxy.Start(_upstream.BaseAddress);
        var settings = GatewaySettings.Proxy(faults.BaseAddress)
            .With("MaxConcurrent", MaxConcurrent.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("ResponseHeaderTimeout", "00:00:01")
            .With("StreamIdleTimeout", "00:00:00.5")
            .WithBreaker(1, Recovery);
        await using var gateway = await TestGateway.StartAsync(settings, logging: b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        var logs = gateway.Services.GetFakeLogCollector();
        var ai = Upstream(gateway);
        var pool = gateway.GetRequiredService<BytesPool>();
        await using var clientSide = fault.Client is ClientFault.StopReading or ClientFault.SlowReader ? FaultProxy.Start(gateway.BaseAddress) : null;
        using var client = TestGateway.CreateClient(clientSide?.BaseAddress ?? gateway.BaseAddress);
        if (clientSide is not null)
        {
            clientSide.Add(fault.Client == ClientFault.StopReading
                ? new Toxic(ToxicKind.Timeout, ToxicStream.Downstream)
                : new Toxic(ToxicKind.Bandwidth, ToxicStream.Downstream) { RateKilobytesPerSecond = 256 });
        }

        foreach (var toxic in fault.Toxics)
        {
            faults.Add(toxic);
        }

        if (fault.Name == "down")
        {
            faults.Down();
        }

        // First pass: the breaker is closed. Second pass, for faults the breaker counts: the same fault
        // meets the half-open breaker as its probe, which must re-open it and free the probe slot.
        await ExpectAsync(fault, client, gateway, ai, logs);
        Assert.That(ai.CircuitBreaker!.State, Is.EqualTo(fault.Counted ? CircuitState.Open : CircuitState.Closed), "the breaker counted it (threshold 1)");
        await ExpectIdleAsync(ai, pool);
        if (fault.Counted)
        {
            Assert.That(await Eventually.HoldsAsync(() => ai.CircuitBreaker.State == CircuitState.HalfOpen), Is.True);
            await ExpectAsync(fault, client, gateway, ai, logs);
            Assert.That(ai.CircuitBreaker.State, Is.EqualTo(CircuitState.Open), "a failed probe re-opens the breaker");
            await ExpectIdleAsync(ai, pool);
        }

        faults.Heal();
        clientSide?.Heal();
        if (fault.Counted)
        {
            Assert.That(await Eventually.HoldsAsync(() => ai.CircuitBreaker.State == CircuitState.HalfOpen), Is.True);
        }

        using var next = await gateway.Client.GetAsync(new Uri("/api/ai/ok", UriKind.Relative)).WaitAsync(Bound);
        Assert.Multiple(async () =>
        {
            Assert.That(next.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the next request succeeds");
            Assert.That(await next.Content.ReadAsStringAsync(), Is.EqualTo("ok"));
        });
        Assert.That(ai.CircuitBreaker.State, Is.EqualTo(CircuitState.Closed));
        await ExpectIdleAsync(ai, pool);
    }

    private static async Task ExpectAsync(FaultCase fault, HttpClient client, TestGateway gateway, HardenedUpstream ai, FakeLogCollector logs)
    {
        logs.Clear();
        var statusBefore = ai.Metrics.GetRequestCount(fault.Status);
        var errorsBefore = fault.Reason == GatewayErrorReason.None ? 0 : ai.Metrics.GetErrorCount(fault.Reason);
        await SendAsync(fault, client, gateway, ai);

        Assert.That(
            await Eventually.HoldsAsync(() => ai.Metrics.GetRequestCount(fault.Status) == statusBefore + 1, Bound),
            Is.True,
            $"requests_total{{code=\"{fault.Status}\"}} counted the request");
        if (fault.Reason != GatewayErrorReason.None)
        {
            Assert.That(ai.Metrics.GetErrorCount(fault.Reason), Is.EqualTo(errorsBefore + 1), $"errors_total{{reason=\"{fault.Reason.ToLabel()}\"}}");
        }

        // The metrics are recorded just before the request event is written.
        Assert.That(await Eventually.HoldsAsync(() => logs.GetSnapshot().Any(IsRequestEvent), Bound), Is.True, "one request event (event 1)");
        var records = logs.GetSnapshot();
        var completed = records.Single(IsRequestEvent);
        Assert.Multiple(() =>
        {
            Assert.That(completed.GetStructuredStateValue("StatusCode"), Is.EqualTo(fault.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(completed.GetStructuredStateValue("Reason"), Is.EqualTo(fault.Reason == GatewayErrorReason.None ? "none" : fault.Reason.ToLabel()));
            Assert.That(records.Any(r => r.Id.Id == fault.EventId && r.Category?.StartsWith("HardenedGateway", StringComparison.Ordinal) == true), Is.True, $"event {fault.EventId} logged; got {string.Join(", ", records.Select(r => r.Id.Id))}");
            if (fault.EventId is 2 or 21)
            {
                Assert.That(records.First(r => r.Id.Id == fault.EventId && r.Category?.StartsWith("HardenedGateway", StringComparison.Ordinal) == true).Level, Is.EqualTo(LogLevel.Warning), "an upstream fault is a warning");
            }
        });
    }

    private static bool IsRequestEvent(FakeLogRecord record) =>
        record.Id.Id == 1 && record.Category == "HardenedGateway.Hosting.ProxyPipeline";

    private static async Task SendAsync(FaultCase fault, HttpClient client, TestGateway gateway, HardenedUpstream ai)
    {
        switch (fault.Client)
        {
            case ClientFault.AbortMidUpload:
                await AbortMidUploadAsync(client, ai);
                return;
            case ClientFault.AbortMidDownload:
                using (var response = await client.GetAsync(Path(fault.Call), HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound))
                {
                    var body = await response.Content.ReadAsStreamAsync();
                    var buffer = new byte[1024];
                    Assert.That(await body.ReadAsync(buffer).AsTask().WaitAsync(Bound), Is.GreaterThan(0));
                }

                client.Dispose();
                return;
            case ClientFault.StopReading:
                // The proxy in front of the gateway takes nothing: the gateway's writes stall and its idle
                // timer ends the exchange as the client's doing. The held client never hears of it, so it gives up.
                var before = ai.Metrics.GetRequestCount(StatusCodes.Status499ClientClosedRequest);
                using (var giveUp = new CancellationTokenSource())
                {
                    var stalled = client.GetAsync(Path(fault.Call), HttpCompletionOption.ResponseHeadersRead, giveUp.Token);
                    Assert.That(await Eventually.HoldsAsync(() => ai.Metrics.GetRequestCount(StatusCodes.Status499ClientClosedRequest) > before, Bound), Is.True, "the gateway gave up on the stalled client");
                    await giveUp.CancelAsync();
                    Assert.That(async () => await stalled.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>().Or.InstanceOf<HttpRequestException>());
                }

                return;
        }

        using var request = new HttpRequestMessage(fault.Call == Call.PostUpload ? HttpMethod.Post : HttpMethod.Get, Path(fault.Call));
        if (fault.Call == Call.PostUpload)
        {
            request.Content = new ByteArrayContent(BigBody, 0, UploadLength);
        }

        if (fault.Seen == Seen.CutAfterHeaders)
        {
            // DESIGN.md: no status of its own; the connection is aborted. Depending on how far Kestrel got
            // with the headers, the client sees them and then a cut body, or the cut alone.
            Assert.That(
                async () =>
                {
                    using var cut = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
                    Assert.That((int)cut.StatusCode, Is.EqualTo(fault.Status));
                    await ReadToEndAsync(cut).WaitAsync(Bound);
                },
                Throws.InstanceOf<HttpIOException>().Or.InstanceOf<IOException>().Or.InstanceOf<HttpRequestException>(),
                "a body cut by the upstream is never passed off as complete");
            return;
        }

        using var answer = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
        switch (fault.Seen)
        {
            case Seen.Problem:
                var problem = await Problem.ReadAsync(answer, (HttpStatusCode)fault.Status);
                Assert.That(problem.Reason, Is.EqualTo(fault.Reason.ToLabel()));
                break;
            default:
                Assert.That((int)answer.StatusCode, Is.EqualTo(fault.Status));
                var body = await ReadToEndAsync(answer).WaitAsync(Bound);
                var expected = fault.Call switch
                {
                    Call.GetBig => BigBody,
                    Call.PostUpload => System.Text.Encoding.ASCII.GetBytes(UploadLength.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    Call.GetThenClose => "closing"u8.ToArray(),
                    _ => "ok"u8.ToArray(),
                };
                Assert.That(body, Is.EqualTo(expected), "the whole body, unchanged");
                break;
        }
    }

    private static async Task AbortMidUploadAsync(HttpClient client, HardenedUpstream ai)
    {
        using var cancel = new CancellationTokenSource();
        using var content = new Streaming.StreamingTests.PushContent(async stream =>
        {
            await stream.WriteAsync(BigBody.AsMemory(0, 4096));
            await stream.FlushAsync();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancel.Token);
        });
        var request = client.PostAsync(Path(Call.PostUpload), content, cancel.Token);
        Assert.That(await Eventually.HoldsAsync(() => ai.Metrics.ActiveRequests == 1), Is.True, "the upload is in flight");
        await Task.Delay(50);
        await cancel.CancelAsync();
        Assert.That(async () => await request.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());
    }

    private static async Task<byte[]> ReadToEndAsync(HttpResponseMessage response)
    {
        using var stream = await response.Content.ReadAsStreamAsync();
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static async Task ExpectIdleAsync(HardenedUpstream ai, BytesPool pool)
    {
        var limiter = ai.Limiter!;
        var breaker = ai.CircuitBreaker!;
        var idle = await Eventually.HoldsAsync(
            () => ai.Metrics.ActiveRequests == 0 && limiter.Available == MaxConcurrent && limiter.QueueLength == 0 && breaker.ProbesInFlight == 0 && pool.OutstandingCount == 0,
            Bound);
        Assert.That(
            idle,
            Is.True,
            $"active_requests {ai.Metrics.ActiveRequests}, available {limiter.Available}/{MaxConcurrent}, queue {limiter.QueueLength}, probes {breaker.ProbesInFlight}, buffers outstanding {pool.OutstandingCount}");
    }

    private static Uri Path(Call call) => new(
        call switch
        {
            Call.GetBig => "/api/ai/big",
            Call.GetEndless => "/api/ai/endless",
            Call.GetThenClose => "/api/ai/close",
            Call.PostUpload => "/api/ai/upload",
            _ => "/api/ai/ok",
        },
        UriKind.Relative);

    private static HardenedUpstream Upstream(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
        return ai!;
    }

    private static byte[] MakeBody(int length)
    {
        var body = new byte[length];
        for (var i = 0; i < length; i++)
        {
            body[i] = (byte)(i % 251);
        }

        return body;
    }

    private static TestCaseData Case(string name, Call call, Seen seen, int status, GatewayErrorReason reason, bool counted, int eventId, params Toxic[] toxics) =>
        new TestCaseData(new FaultCase(name, call, ClientFault.None, seen, status, reason, counted, eventId, toxics)).SetArgDisplayNames(name);

    private static TestCaseData ClientCase(string name, Call call, ClientFault clientFault) =>
        new TestCaseData(new FaultCase(name, call, clientFault, Seen.ClientGone, 499, GatewayErrorReason.ClientAborted, false, 22, [])).SetArgDisplayNames(name);

    /// <summary>One row of the matrix.</summary>
    public sealed record FaultCase(string Name, Call Call, ClientFault Client, Seen Seen, int Status, GatewayErrorReason Reason, bool Counted, int EventId, Toxic[] Toxics)
    {
        public override string ToString() => Name;
    }
}
