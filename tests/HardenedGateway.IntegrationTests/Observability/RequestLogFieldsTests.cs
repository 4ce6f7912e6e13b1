using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HardenedGateway.IntegrationTests.Observability;

/// <summary>FR-021 and DESIGN.md "Logs": one structured event per proxied request, upstream and gateway time apart, no secrets.</summary>
[TestFixture]
public sealed class RequestLogFieldsTests
{
    private const int RequestCompletedEventId = 1;

    [Test]
    public async Task ProxiedRequest_LogsOneEventWithTheDesignFields_AndNoQueryOrCredentials()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", async (HttpContext ctx) =>
        {
            await Task.Delay(50, ctx.RequestAborted);
            return "ok";
        }));
        await using var gateway = await TestGateway.StartAsync(
            new Dictionary<string, string?>
            {
                ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
                ["HardenedGateway:Proxies:ai:Upstream"] = upstream.BaseAddress.ToString(),
                ["HardenedGateway:Proxies:ai:MaxConcurrent"] = "5",
                ["HardenedGateway:Proxies:ai:CircuitBreaker:Enabled"] = "true",
            },
            logging: logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        var collector = gateway.Services.GetFakeLogCollector();

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/ai/generate?apiKey=query-secret-42", UriKind.Relative));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "header-secret-77");
        using var response = await gateway.Client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var records = collector.GetSnapshot();
        var events = records.Where(r => r.Id.Id == RequestCompletedEventId && r.Category is not null && r.Category.StartsWith("HardenedGateway", StringComparison.Ordinal)).ToList();
        Assert.That(events, Has.Count.EqualTo(1), "one event per proxied request");
        var state = events[0].StructuredState!.ToDictionary(p => p.Key, p => p.Value);

        Assert.Multiple(() =>
        {
            Assert.That(events[0].Level, Is.EqualTo(LogLevel.Information));
            Assert.That(state["ProxyName"], Is.EqualTo("ai"));
            Assert.That(state["Method"], Is.EqualTo("GET"));
            Assert.That(state["StatusCode"], Is.EqualTo("200"));
            Assert.That(state["CircuitState"], Is.EqualTo("Closed"));
            Assert.That(state["ConcurrentCount"], Is.EqualTo("1"), "this request, counted while it held its slot");
            var upstreamMs = double.Parse(state["UpstreamLatencyMs"]!, System.Globalization.CultureInfo.InvariantCulture);
            var gatewayMs = double.Parse(state["ProxyLatencyMs"]!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(upstreamMs, Is.GreaterThanOrEqualTo(40), "the upstream's 50 ms is upstream time");
            Assert.That(gatewayMs, Is.GreaterThanOrEqualTo(0), "gateway time is total minus upstream time");
            // The library's own events (ASP.NET Core's hosting logs are the app's to configure).
            foreach (var record in records.Where(r => r.Category is not null && r.Category.StartsWith("HardenedGateway", StringComparison.Ordinal)))
            {
                var text = record.Message + string.Join(";", record.StructuredState?.Select(p => p.Value) ?? []);
                Assert.That(text, Does.Not.Contain("query-secret-42").And.Not.Contain("header-secret-77"), $"log event {record.Id}");
            }
        });
    }
}
