using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace HardenedGateway.IntegrationTests.Transport;

/// <summary>T060 / SC-001 / NFR-002: sequential requests reuse upstream connections.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class ConnectionReuseTests
{
    [Test]
    public async Task Get_HundredSequential_ReuseUpstreamConnections()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "ok"));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        for (var i = 0; i < 100; i++)
        {
            using var response = await gateway.Client.GetAsync(new Uri($"/api/ai/n/{i}", UriKind.Relative));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("ok"));
        }

        Assert.That(upstream.AcceptedConnections, Is.InRange(1, 10), "more than 90 % of the requests reused a connection");
    }

    [Test]
    public async Task Post_HundredSequentialWithBodies_ReuseUpstreamConnections()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/{**rest}", async (Microsoft.AspNetCore.Http.HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            return await reader.ReadToEndAsync(context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        for (var i = 0; i < 100; i++)
        {
            using var content = new StringContent($"body {i}");
            using var response = await gateway.Client.PostAsync(new Uri("/api/ai/echo", UriKind.Relative), content);
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo($"body {i}"));
        }

        Assert.That(upstream.AcceptedConnections, Is.InRange(1, 10));
    }
}
