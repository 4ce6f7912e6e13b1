using System.Net;
using System.Net.Sockets;
using System.Text;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;

namespace HardenedGateway.IntegrationTests.TypedClients;

[TestFixture]
public sealed class TypedClientTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public async Task TypedClientAndProxyRoute_SameUpstream_ShareOneConcurrencyBudget()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = 0;
        var allInFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/hold", async () =>
        {
            if (Interlocked.Increment(ref inFlight) == 5)
            {
                allInFlight.TrySetResult();
            }

            await gate.Task.WaitAsync(Bound);
            return "done";
        }));
        await using var gateway = await StartGatewayAsync(upstream, maxConcurrent: 5);
        var client = gateway.GetRequiredService<AiClient>();

        var proxied = Enumerable.Range(0, 3).Select(_ => gateway.Client.GetAsync(new Uri("/api/ai/hold", UriKind.Relative))).ToArray();
        var direct = Enumerable.Range(0, 2).Select(_ => client.Http.GetAsync(new Uri("hold", UriKind.Relative))).ToArray();
        await allInFlight.Task.WaitAsync(Bound);

        using var rejectedByProxy = await gateway.Client.GetAsync(new Uri("/api/ai/hold", UriKind.Relative));
        var rejectedInClient = Assert.ThrowsAsync<UpstreamConcurrencyLimitException>(() => client.Http.GetAsync(new Uri("hold", UriKind.Relative)));
        gate.SetResult();
        var responses = await Task.WhenAll(proxied.Concat(direct)).WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(rejectedByProxy.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(rejectedInClient!.UpstreamName, Is.EqualTo("ai"));
            Assert.That(rejectedInClient.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(rejectedInClient.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(rejectedInClient, Is.InstanceOf<HttpRequestException>());
            Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        });
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task FailuresThroughTypedClient_OpenTheBreakerOfTheProxyRoute()
    {
        var upstreamHits = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/fail", () =>
        {
            Interlocked.Increment(ref upstreamHits);
            return Results.StatusCode(500);
        }));
        await using var gateway = await StartGatewayAsync(upstream, failureThreshold: 3);
        var client = gateway.GetRequiredService<AiClient>();

        for (var i = 0; i < 3; i++)
        {
            using var failed = await client.Http.GetAsync(new Uri("fail", UriKind.Relative));
            Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        }

        using var proxied = await gateway.Client.GetAsync(new Uri("/api/ai/fail", UriKind.Relative));
        var rejected = Assert.ThrowsAsync<UpstreamCircuitOpenException>(() => client.Http.GetAsync(new Uri("fail", UriKind.Relative)));

        Assert.Multiple(() =>
        {
            Assert.That(proxied.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(proxied.Headers.GetValues("X-Circuit-Breaker").Single(), Is.EqualTo("open"));
            Assert.That(rejected!.CircuitState, Is.EqualTo(CircuitState.Open));
            Assert.That(rejected.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(Volatile.Read(ref upstreamHits), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task StreamedResponse_HoldsTheSlotUntilDisposed()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/big", () => Results.Bytes(new byte[256 * 1024], "application/octet-stream")));
        await using var gateway = await StartGatewayAsync(upstream, maxConcurrent: 2);
        var client = gateway.GetRequiredService<AiClient>();
        var limiter = Upstream(gateway).Limiter!;

        var response = await client.Http.GetAsync(new Uri("big", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var availableWhileStreaming = limiter.Available;
        response.Dispose();

        Assert.Multiple(() =>
        {
            Assert.That(availableWhileStreaming, Is.EqualTo(1));
            Assert.That(limiter.Available, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task ResponseReadToEnd_ReleasesTheSlot()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/small", () => "hello"));
        await using var gateway = await StartGatewayAsync(upstream, maxConcurrent: 1);
        var client = gateway.GetRequiredService<AiClient>();

        for (var i = 0; i < 5; i++)
        {
            Assert.That(await client.Http.GetStringAsync(new Uri("small", UriKind.Relative)), Is.EqualTo("hello"));
        }

        Assert.That(Upstream(gateway).Limiter!.Available, Is.EqualTo(1));
    }

    [Test]
    public async Task BodyFailureAfterHeaders_CountsAsBreakerFailure()
    {
        // A raw upstream that promises 1 MB, sends 1 KB and closes: the body ends prematurely.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = ServeTruncatedResponseAsync(listener);
        var upstreamAddress = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        await using var gateway = await TestGateway.StartAsync(
            new Dictionary<string, string?>
            {
                ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
                ["HardenedGateway:Proxies:ai:Upstream"] = upstreamAddress.ToString(),
                ["HardenedGateway:Proxies:ai:MaxConcurrent"] = "3",
                ["HardenedGateway:Proxies:ai:CircuitBreaker:Enabled"] = "true",
                ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureThreshold"] = "1",
            },
            services => services.AddHttpClient<AiClient>(c => c.BaseAddress = upstreamAddress).AddHardenedHandler("ai"));
        var client = gateway.GetRequiredService<AiClient>();

        using var response = await client.Http.GetAsync(new Uri("die", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        Assert.ThrowsAsync(Is.InstanceOf<IOException>(), () => stream.CopyToAsync(Stream.Null));
        await serve.WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(Upstream(gateway).CircuitBreaker!.State, Is.EqualTo(CircuitState.Open));
            Assert.That(Upstream(gateway).Limiter!.Available, Is.EqualTo(3));
        });
    }

    private static async Task ServeTruncatedResponseAsync(TcpListener listener)
    {
        using var socket = await listener.AcceptSocketAsync().WaitAsync(Bound);
        var buffer = new byte[8192];
        var received = 0;
        while (!Encoding.ASCII.GetString(buffer, 0, received).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            received += await socket.ReceiveAsync(buffer.AsMemory(received));
        }

        await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nContent-Type: application/octet-stream\r\n\r\n"));
        await socket.SendAsync(new byte[1000]);
        socket.Shutdown(SocketShutdown.Both);
    }

    [Test]
    public async Task ResponseHeaderTimeout_AppliesToTypedClients()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/slow", async (HttpContext ctx) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5), ctx.RequestAborted);
            return "late";
        }));
        await using var gateway = await StartGatewayAsync(upstream, extra: new() { ["HardenedGateway:Proxies:ai:ResponseHeaderTimeout"] = "00:00:00.200" });
        var client = gateway.GetRequiredService<AiClient>();

        var error = Assert.ThrowsAsync<TaskCanceledException>(() => client.Http.GetAsync(new Uri("slow", UriKind.Relative)));

        Assert.That(error!.InnerException, Is.InstanceOf<TimeoutException>());
    }

    [Test]
    public async Task ClientOnlyUpstream_ConfiguredInCode_LimitsConcurrencyAndIsShared()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/hold", async () =>
        {
            entered.TrySetResult();
            await gate.Task.WaitAsync(Bound);
            return "ok";
        }));
        await using var gateway = await TestGateway.StartAsync(
            new Dictionary<string, string?>(),
            services =>
            {
                services.AddHttpClient("first", c => c.BaseAddress = upstream.BaseAddress)
                    .AddHardenedHandler("billing", o => o.MaxConcurrent = 1);
                services.AddHttpClient("second", c => c.BaseAddress = upstream.BaseAddress)
                    .AddHardenedHandler("billing", o => o.MaxConcurrent = 1);
            });
        var factory = gateway.GetRequiredService<IHttpClientFactory>();
        using var first = factory.CreateClient("first");
        using var second = factory.CreateClient("second");

        var held = first.GetAsync(new Uri("hold", UriKind.Relative));
        await entered.Task.WaitAsync(Bound);
        var rejected = Assert.ThrowsAsync<UpstreamConcurrencyLimitException>(() => second.GetAsync(new Uri("hold", UriKind.Relative)));
        gate.SetResult();
        using var response = await held.WaitAsync(Bound);

        Assert.Multiple(() =>
        {
            Assert.That(rejected!.UpstreamName, Is.EqualTo("billing"));
            Assert.That(rejected.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("billing", out var billing), Is.True);
            Assert.That(billing!.PathPrefix, Is.Null);
        });
    }

    [Test]
    public void ClientOnlyUpstream_InvalidSetting_ThrowsNamingTheKey()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddHttpClient("x").AddHardenedHandler("billing", o => o.MaxConcurrent = -1));

        Assert.That(error!.Message, Does.Contain("HardenedGateway:Proxies:billing:MaxConcurrent is -1; allowed: 0 (no limiter) .. 100000."));
    }

    [Test]
    public async Task UnknownUpstreamName_FailsWhenTheClientIsCreated()
    {
        await using var gateway = await TestGateway.StartAsync(
            new Dictionary<string, string?>(),
            services => services.AddHttpClient("x").AddHardenedHandler("nope"));

        var error = Assert.Throws<InvalidOperationException>(() => gateway.GetRequiredService<IHttpClientFactory>().CreateClient("x"));

        Assert.That(error!.Message, Does.Contain("No HardenedGateway upstream is named 'nope'"));
    }

    [Test]
    public async Task RecycledHandlers_DoNotDisposeTheSharedTransportOrLeakSlots()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/small", () => "hello"));
        await using var gateway = await StartGatewayAsync(upstream, maxConcurrent: 2);
        var handlerFactory = gateway.GetRequiredService<IHttpMessageHandlerFactory>();

        for (var i = 0; i < 3; i++)
        {
            // What the factory does when a handler's lifetime expires: dispose the whole chain.
            var handler = handlerFactory.CreateHandler(typeof(AiClient).Name);
            using (var invoker = new HttpMessageInvoker(handler, disposeHandler: true))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(upstream.BaseAddress, "small"));
                using var response = await invoker.SendAsync(request, CancellationToken.None);
                Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("hello"));
            }
        }

        using var proxied = await gateway.Client.GetAsync(new Uri("/api/ai/small", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(proxied.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the shared transport must survive handler disposal");
            Assert.That(Upstream(gateway).Limiter!.Available, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task WithStandardResilienceHandlerOutside_EachRetryAttemptIsOneBreakerSample()
    {
        var upstreamHits = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/fail", () =>
        {
            Interlocked.Increment(ref upstreamHits);
            return Results.StatusCode(503);
        }));
        await using var gateway = await TestGateway.StartAsync(
            Settings(upstream, failureThreshold: 100),
            services => services.AddHttpClient<AiClient>(c => c.BaseAddress = upstream.BaseAddress)
                .AddStandardResilienceHandler(o =>
                {
                    o.Retry.MaxRetryAttempts = 2;
                    o.Retry.Delay = TimeSpan.FromMilliseconds(1);
                    o.Retry.UseJitter = false;
                }).Services.AddHttpClient<AiClient>().AddHardenedHandler("ai"));
        var client = gateway.GetRequiredService<AiClient>();

        using var response = await client.Http.GetAsync(new Uri("fail", UriKind.Relative));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(Volatile.Read(ref upstreamHits), Is.EqualTo(3));
            Assert.That(Upstream(gateway).CircuitBreaker!.ConsecutiveFailures, Is.EqualTo(3), "one breaker sample per attempt");
        });
    }

    [Test]
    public async Task TypedClient_InsideAnActivity_SendsItsW3CTraceContext()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/trace", (HttpContext ctx) => ctx.Request.Headers["traceparent"].ToString()));
        await using var gateway = await StartGatewayAsync(upstream);
        var client = gateway.GetRequiredService<AiClient>();
        using var activity = new System.Diagnostics.Activity("caller").SetIdFormat(System.Diagnostics.ActivityIdFormat.W3C).Start();

        var traceparent = await client.Http.GetStringAsync(new Uri("trace", UriKind.Relative));

        Assert.That(traceparent, Does.StartWith($"00-{activity.TraceId}-"));
    }

    private static HardenedUpstream Upstream(TestGateway gateway)
    {
        Assert.That(gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("ai", out var upstream), Is.True);
        return upstream!;
    }

    private static Dictionary<string, string?> Settings(TestUpstream upstream, int maxConcurrent = 10, int failureThreshold = 50) => new()
    {
        ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
        ["HardenedGateway:Proxies:ai:Upstream"] = upstream.BaseAddress.ToString(),
        ["HardenedGateway:Proxies:ai:MaxConcurrent"] = maxConcurrent.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["HardenedGateway:Proxies:ai:RetryAfterSeconds"] = "7",
        ["HardenedGateway:Proxies:ai:CircuitBreaker:Enabled"] = "true",
        ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureThreshold"] = failureThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static Task<TestGateway> StartGatewayAsync(TestUpstream upstream, int maxConcurrent = 10, int failureThreshold = 50, Dictionary<string, string?>? extra = null)
    {
        var settings = Settings(upstream, maxConcurrent, failureThreshold);
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return TestGateway.StartAsync(settings, services =>
            services.AddHttpClient<AiClient>(c => c.BaseAddress = upstream.BaseAddress).AddHardenedHandler("ai"));
    }

    /// <summary>A typed client as an app would write one.</summary>
    public sealed class AiClient(HttpClient http)
    {
        public HttpClient Http { get; } = http;
    }
}
