using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HardenedGateway.IntegrationTests.Reliability;

/// <summary>
/// RS-001 at the edges of a gateway's life: host shutdown (what SIGTERM triggers) with requests and
/// token streams in flight, and configuration reloads in the middle of traffic.
/// </summary>
[TestFixture]
[NonParallelizable] // watches TaskScheduler.UnobservedTaskException, which is process-wide
public sealed class ShutdownAndReloadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(1);

    [Test]
    public async Task StopAsync_RequestsAndStreamsInFlight_FinishedOnesCompleteOpenStreamsAreAbortedNothingLeaks()
    {
        const int Slow = 5;
        const int Streams = 3;
        var unobserved = new ConcurrentQueue<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => unobserved.Enqueue(e.Exception);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            var release = new Gate();
            var slowArrived = 0;
            var streamsAborted = 0;
            var hits = 0;
            await using var upstream = await TestUpstream.StartAsync(app =>
            {
                app.MapGet("/slow", async (HttpContext context) =>
                {
                    Interlocked.Increment(ref hits);
                    Interlocked.Increment(ref slowArrived);
                    await release.WaitAsync(context.RequestAborted);
                    return "done";
                });
                app.MapGet("/sse", async (HttpContext context) =>
                {
                    Interlocked.Increment(ref hits);
                    context.Response.ContentType = "text/event-stream";
                    try
                    {
                        for (var i = 0; ; i++)
                        {
                            await context.Response.WriteAsync($"data: {i}\n\n", context.RequestAborted);
                            await context.Response.Body.FlushAsync(context.RequestAborted);
                            await Task.Delay(50, context.RequestAborted);
                        }
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or IOException)
                    {
                        Interlocked.Increment(ref streamsAborted);
                    }
                });
                app.MapGet("/ok", () =>
                {
                    Interlocked.Increment(ref hits);
                    return "ok";
                });
            });
            var gateway = await TestGateway.StartAsync(
                GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "20").WithBreaker(3, TimeSpan.FromMinutes(1)),
                services: s => s.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout));
            Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var ai), Is.True);
            var pool = gateway.GetRequiredService<BytesPool>();
            var lifetime = gateway.GetRequiredService<IHostApplicationLifetime>();
            using var client = TestGateway.CreateClient(gateway.BaseAddress);

            var slow = Enumerable.Range(0, Slow).Select(_ => client.GetAsync(new Uri("/api/ai/slow", UriKind.Relative))).ToArray();
            var streams = new List<(HttpResponseMessage Response, StreamReader Reader)>();
            for (var i = 0; i < Streams; i++)
            {
                var response = await client.GetAsync(new Uri("/api/ai/sse", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead).WaitAsync(Bound);
                var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                Assert.That(await reader.ReadLineAsync().WaitAsync(Bound), Is.EqualTo("data: 0"));
                streams.Add((response, reader));
            }

            Assert.That(await Eventually.HoldsAsync(() => Volatile.Read(ref slowArrived) == Slow), Is.True);
            Assert.That(ai!.Metrics.ActiveRequests, Is.EqualTo(Slow + Streams));

            // SIGTERM: the host stops. Kestrel closes its listener; what is in flight gets ShutdownTimeout.
            var stopping = gateway.App.StopAsync();
            Assert.That(await Eventually.HoldsAsync(() => lifetime.ApplicationStopping.IsCancellationRequested && !CanConnect(gateway.BaseAddress), Bound), Is.True, "the gateway stops accepting");
            var hitsBeforeNewRequest = Volatile.Read(ref hits);
            using (var late = TestGateway.CreateClient(gateway.BaseAddress))
            {
                Assert.That(async () => await late.GetAsync(new Uri("/api/ai/ok", UriKind.Relative)).WaitAsync(Bound), Throws.InstanceOf<HttpRequestException>(), "no new request is admitted");
            }

            // The in-flight requests that can finish do, normally.
            release.Open();
            var finished = await Task.WhenAll(slow).WaitAsync(Bound);
            foreach (var response in finished)
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(await response.Content.ReadAsStringAsync().WaitAsync(Bound), Is.EqualTo("done"));
                response.Dispose();
            }

            // The streams still open when the shutdown timeout ends are cut, never ended as if complete.
            foreach (var (response, reader) in streams)
            {
                Assert.That(
                    async () =>
                    {
                        while (await reader.ReadLineAsync().WaitAsync(Bound) is not null)
                        {
                        }
                    },
                    Throws.InstanceOf<IOException>().Or.InstanceOf<HttpIOException>().Or.InstanceOf<HttpRequestException>(),
                    "an open stream is aborted at the end of the shutdown timeout");
                reader.Dispose();
                response.Dispose();
            }

            Assert.That(async () => await stopping.WaitAsync(Bound), Throws.Nothing, "StopAsync completes without throwing");
            Assert.That(Volatile.Read(ref hits), Is.EqualTo(hitsBeforeNewRequest), "the late request never reached the upstream");
            Assert.That(await Eventually.HoldsAsync(() => Volatile.Read(ref streamsAborted) == Streams, Bound), Is.True, "the upstream calls of the cut streams were cancelled");
            Assert.That(
                await Eventually.HoldsAsync(() => ai.Metrics.ActiveRequests == 0 && ai.Limiter!.Available == 20 && pool.OutstandingCount == 0, Bound),
                Is.True,
                $"active {ai.Metrics.ActiveRequests}, slots {ai.Limiter!.Available}/20, buffers {pool.OutstandingCount}");
            Assert.That(ai.CircuitBreaker!.ConsecutiveFailures, Is.Zero, "a shutdown is not an upstream failure");
            Assert.That(async () => await gateway.DisposeAsync(), Throws.Nothing, "disposal after the stop throws nothing");

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.That(unobserved, Is.Empty, "no task exception went unobserved");
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    [Test]
    public async Task Reload_DuringLoad_InFlightRequestsUnaffectedAndNoSlotLost()
    {
        const int Workers = 8;
        const int RequestsPerWorker = 40;
        var body = new string('x', 4096);
        var inFlight = 0;
        var maxInFlight = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext context) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref maxInFlight)) && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
            {
            }

            try
            {
                await Task.Delay(10, context.RequestAborted);
                return body;
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }));
        var settings = GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "4").With("QueueTimeout", "00:00:02");
        await using var gateway = await TestGateway.StartAsync(settings);
        var registry = gateway.GetRequiredService<HardenedProxyRegistry>();
        var pool = gateway.GetRequiredService<BytesPool>();
        var seenUpstreams = new ConcurrentDictionary<HardenedUpstream, bool>();
        Assert.That(registry.TryGetUpstream("ai", out var first), Is.True);
        seenUpstreams[first!] = true;

        var counted = new ConcurrentDictionary<int, int>();
        var cut = 0;
        using var client = TestGateway.CreateClient(gateway.BaseAddress);
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < RequestsPerWorker; i++)
            {
                using var response = await client.GetAsync(new Uri("/api/ai/load", UriKind.Relative));
                var text = await response.Content.ReadAsStringAsync();
                counted.AddOrUpdate((int)response.StatusCode, 1, static (_, n) => n + 1);
                if (response.StatusCode == HttpStatusCode.OK && text != body)
                {
                    Interlocked.Increment(ref cut);
                }
            }
        })).ToArray();

        // Reloads in the middle of the traffic: a changed limit (a new limiter), then the same settings
        // again (nothing replaced), alternating.
        for (var reload = 0; reload < 10 && !workers.All(w => w.IsCompleted); reload++)
        {
            var limit = reload % 2 == 0 ? "6" : "4";
            gateway.ReplaceConfiguration(settings.Copy().With("MaxConcurrent", limit));
            Assert.That(await Eventually.HoldsAsync(() => registry.TryGetUpstream("ai", out var now) && now.Limiter!.MaxConcurrent.ToString(System.Globalization.CultureInfo.InvariantCulture) == limit), Is.True);
            registry.TryGetUpstream("ai", out var current);
            seenUpstreams[current!] = true;
            await Task.Delay(30);
        }

        await Task.WhenAll(workers).WaitAsync(Bound);
        Assert.That(registry.TryGetUpstream("ai", out var last), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(counted.Keys, Is.SubsetOf(new[] { 200, 429 }), "every answer is a whole 200 or a 429");
            Assert.That(cut, Is.Zero, "no body was cut by a reload");
            Assert.That(counted.Values.Sum(), Is.EqualTo(Workers * RequestsPerWorker));
            Assert.That(seenUpstreams, Has.Count.GreaterThan(2), "the reloads replaced the limiter");
            Assert.That(Volatile.Read(ref maxInFlight), Is.LessThanOrEqualTo(6 + 6), "at most the old and the new limit at once during a switch");
            Assert.That(last!.Metrics.GetRequestCount(200), Is.EqualTo(counted.GetValueOrDefault(200)), "requests_total{code=200} equals what the clients counted");
            Assert.That(last.Metrics.GetRequestCount(429), Is.EqualTo(counted.GetValueOrDefault(429)));
        });
        Assert.That(
            await Eventually.HoldsAsync(() => seenUpstreams.Keys.All(u => u.Limiter!.Available == u.Limiter.MaxConcurrent && u.Limiter.QueueLength == 0) && last!.Metrics.ActiveRequests == 0 && pool.OutstandingCount == 0, Bound),
            Is.True,
            "every limiter, old and new, has all its slots back: " + string.Join(", ", seenUpstreams.Keys.Select(u => $"{u.Limiter!.Available}/{u.Limiter.MaxConcurrent} q{u.Limiter.QueueLength}")) + $"; active {last!.Metrics.ActiveRequests}; buffers {pool.OutstandingCount}");
    }

    private static bool CanConnect(Uri address)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(IPAddress.Loopback, address.Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
