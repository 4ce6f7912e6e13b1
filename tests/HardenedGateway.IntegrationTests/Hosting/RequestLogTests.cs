using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Hosting;

/// <summary>DESIGN.md "Logs": one structured event per proxied request (FR-021), at the app's default level.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class RequestLogTests
{
    private const int RequestCompletedEventId = 1;

    [Test]
    public async Task Get_AtInformationLevel_LogsOneStructuredEventPerRequest()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => Results.StatusCode(StatusCodes.Status201Created)));
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress).With("MaxConcurrent", "3"),
            logging: b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Information));
        var logs = gateway.Services.GetFakeLogCollector();

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/generate?token=secret-query", UriKind.Relative));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));

        Assert.That(await Eventually.HoldsAsync(() => RequestEvents(logs).Length == 1), Is.True, "exactly one request event");
        var record = RequestEvents(logs)[0];
        Assert.Multiple(() =>
        {
            Assert.That(record.Level, Is.EqualTo(LogLevel.Information));
            Assert.That(record.GetStructuredStateValue("ProxyName"), Is.EqualTo("ai"));
            Assert.That(record.GetStructuredStateValue("Method"), Is.EqualTo("GET"));
            Assert.That(record.GetStructuredStateValue("StatusCode"), Is.EqualTo("201"));
            Assert.That(record.GetStructuredStateValue("UpstreamLatencyMs"), Is.Not.Null);
            Assert.That(record.GetStructuredStateValue("ProxyLatencyMs"), Is.Not.Null);
            Assert.That(record.GetStructuredStateValue("CircuitState"), Is.EqualTo("Closed"));
            Assert.That(record.GetStructuredStateValue("ConcurrentCount"), Is.Not.Null);
            Assert.That(string.Join(" ", logs.GetSnapshot().Where(r => r.Category!.StartsWith("HardenedGateway", StringComparison.Ordinal)).Select(r => r.Message)),
                Does.Not.Contain("secret-query"), "no query strings in logs");
        });
    }

    [Test]
    public async Task Get_GatewayRejection_IsLoggedToo()
    {
        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(new Uri("http://127.0.0.1:9/")),
            logging: b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Information));
        var logs = gateway.Services.GetFakeLogCollector();

        var response = await RawHttp.GetAsync(gateway.BaseAddress, "/api/ai/../etc");

        Assert.That(response.Status, Is.EqualTo(400));
        Assert.That(await Eventually.HoldsAsync(() => RequestEvents(logs).Length == 1), Is.True);
        Assert.That(RequestEvents(logs)[0].GetStructuredStateValue("StatusCode"), Is.EqualTo("400"));
    }

    private static FakeLogRecord[] RequestEvents(FakeLogCollector logs) =>
        logs.GetSnapshot().Where(r => r.Id.Id == RequestCompletedEventId && r.Category == "HardenedGateway.Hosting.ProxyPipeline").ToArray();
}
