using System.Diagnostics;
using System.Net;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Prometheus.Tests.Tracing;

/// <summary>One client activity per forwarded request, linked to the incoming request, its trace context sent upstream.</summary>
[TestFixture]
public sealed class ForwardingActivityTests
{
    private const string GatewaySource = "HardenedGateway";
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    [Test]
    public async Task Forward_WithListener_OneClientActivityChildOfTheRequestActivity()
    {
        using var recorder = new ActivityRecorder(GatewaySource, AspNetCoreSource);
        await using var scenario = await StartAsync();
        var (traceId, clientSpanId, traceparent) = NewTraceparent();

        var (status, received) = await GetAsync(scenario, "/api/ai/echo", traceparent, tracestate: "vendor=value");
        var forward = await recorder.WaitForAsync(a => a.Source.Name == GatewaySource && a.TraceId == traceId);
        var incoming = await recorder.WaitForAsync(a => a.Source.Name == AspNetCoreSource && a.ParentSpanId == clientSpanId);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(recorder.Stopped.Count(a => a.Source.Name == GatewaySource && a.TraceId == traceId), Is.EqualTo(1), "one activity per forwarded request");
            Assert.That(forward.OperationName, Is.EqualTo("HardenedGateway.Forward"));
            Assert.That(forward.Kind, Is.EqualTo(ActivityKind.Client));
            Assert.That(forward.ParentSpanId, Is.EqualTo(incoming.SpanId), "child of the incoming request's activity");
            Assert.That(forward.GetTagItem("hardened_gateway.proxy"), Is.EqualTo("ai"));
            Assert.That(forward.GetTagItem("hardened_gateway.reason"), Is.EqualTo("none"));
            Assert.That(forward.GetTagItem("http.response.status_code"), Is.EqualTo(200));
            Assert.That(forward.GetTagItem("http.request.method"), Is.EqualTo("GET"));
            Assert.That(forward.GetTagItem("server.address"), Is.EqualTo("127.0.0.1"));
            Assert.That(forward.GetTagItem("server.port"), Is.EqualTo(scenario.Upstream.BaseAddress.Port));
            Assert.That(forward.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(received.Traceparent, Is.EqualTo($"00-{traceId}-{forward.SpanId}-01"), "the upstream continues the trace under the gateway's activity");
            Assert.That(received.Tracestate, Is.EqualTo("vendor=value"));
        });
    }

    [Test]
    public async Task Forward_NoRequestActivity_ContinuesTheClientsTraceAndState()
    {
        // Nobody listens to ASP.NET Core's source (and logging is off), so the request has no activity.
        using var recorder = new ActivityRecorder(GatewaySource);
        await using var scenario = await StartAsync();
        var (traceId, clientSpanId, traceparent) = NewTraceparent();

        var (_, received) = await GetAsync(scenario, "/api/ai/echo", traceparent, tracestate: "vendor=value");
        var forward = await recorder.WaitForAsync(a => a.Source.Name == GatewaySource && a.TraceId == traceId);

        Assert.Multiple(() =>
        {
            Assert.That(forward.ParentSpanId, Is.EqualTo(clientSpanId));
            Assert.That(forward.HasRemoteParent, Is.True);
            Assert.That(received.Traceparent, Is.EqualTo($"00-{traceId}-{forward.SpanId}-01"));
            Assert.That(received.Tracestate, Is.EqualTo("vendor=value"));
        });
    }

    [Test]
    public async Task Forward_UpstreamUnreachable_ActivityHasReasonAndErrorStatus()
    {
        using var recorder = new ActivityRecorder(GatewaySource);
        await using var scenario = await StartAsync();
        var (traceId, _, traceparent) = NewTraceparent();

        var (status, _) = await GetAsync(scenario, "/api/down/x", traceparent);
        var forward = await recorder.WaitForAsync(a => a.Source.Name == GatewaySource && a.TraceId == traceId);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadGateway));
            Assert.That(forward.GetTagItem("hardened_gateway.proxy"), Is.EqualTo("down"));
            Assert.That(forward.GetTagItem("hardened_gateway.reason"), Is.EqualTo("upstream_unreachable"));
            Assert.That(forward.GetTagItem("http.response.status_code"), Is.EqualTo(502));
            Assert.That(forward.GetTagItem("error.type"), Is.EqualTo("upstream_unreachable"));
            Assert.That(forward.Status, Is.EqualTo(ActivityStatusCode.Error));
        });
    }

    [Test]
    public async Task Forward_GatewayRejects_CreatesNoActivity()
    {
        using var recorder = new ActivityRecorder(GatewaySource);
        await using var scenario = await StartAsync();
        var (traceId, _, traceparent) = NewTraceparent();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/socket", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        request.Headers.TryAddWithoutValidation("Connection", "Upgrade");
        request.Headers.TryAddWithoutValidation("Upgrade", "websocket");

        using var response = await scenario.Client.SendAsync(request);
        await scenario.WaitForRecordedRequestsAsync(1);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotImplemented));
            Assert.That(recorder.Stopped.Where(a => a.TraceId == traceId), Is.Empty, "the request was not forwarded");
        });
    }

    [Test]
    public async Task Forward_NoListener_PassesTheClientsTraceparentUnchanged()
    {
        await using var scenario = await StartAsync();
        var (_, _, traceparent) = NewTraceparent();

        var (_, received) = await GetAsync(scenario, "/api/ai/echo", traceparent, tracestate: "vendor=value");

        Assert.Multiple(() =>
        {
            Assert.That(received.Traceparent, Is.EqualTo(traceparent));
            Assert.That(received.Tracestate, Is.EqualTo("vendor=value"));
        });
    }

    private static (ActivityTraceId TraceId, ActivitySpanId SpanId, string Traceparent) NewTraceparent()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var spanId = ActivitySpanId.CreateRandom();
        return (traceId, spanId, $"00-{traceId}-{spanId}-01");
    }

    private static async Task<(HttpStatusCode Status, (string Traceparent, string Tracestate) Received)> GetAsync(
        GatewayScenario scenario, string path, string traceparent, string? tracestate = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        if (tracestate is not null)
        {
            request.Headers.TryAddWithoutValidation("tracestate", tracestate);
        }

        using var response = await scenario.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var parts = body.Split('|');
        return (response.StatusCode, parts.Length == 2 ? (parts[0], parts[1]) : (string.Empty, string.Empty));
    }

    /// <summary>The upstream's <c>/echo</c> answers with the trace headers it received: <c>traceparent|tracestate</c>.</summary>
    private static Task<GatewayScenario> StartAsync() =>
        GatewayScenario.StartAsync(
            upstream: app => app.Map("/echo", (HttpContext context) =>
                Results.Text($"{context.Request.Headers["traceparent"]}|{context.Request.Headers["tracestate"]}")));
}
