using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.IntegrationTests.Proxy;

[TestFixture]
public sealed class SmokeTests
{
    [Test]
    public async Task Get_UnderPrefix_ForwardsRemainderAndQueryToUpstreamBasePath()
    {
        await using var upstream = await TestUpstream.StartAsync(app =>
            app.Map("/base/{**rest}", (HttpContext ctx) => Results.Text($"{ctx.Request.Path}{ctx.Request.QueryString}|{ctx.Request.Headers.Host}|{ctx.Request.Headers["X-Forwarded-Host"]}")));
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = new Uri(upstream.BaseAddress, "/base/").ToString(),
        });

        using var response = await gateway.Client.GetAsync(new Uri("/api/ai/v1/generate?x=1&y=%20", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body, Is.EqualTo($"/base/v1/generate?x=1&y=%20|{upstream.BaseAddress.Authority}|{gateway.BaseAddress.Authority}"));
        });
    }

    [Test]
    public async Task Get_OutsidePrefix_FallsThroughToApp()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "upstream"));
        await using var gateway = await TestGateway.StartAsync(
            new Dictionary<string, string?>
            {
                ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
                ["HardenedGateway:Proxies:ai:Upstream"] = upstream.BaseAddress.ToString(),
            },
            configure: app => app.MapGet("/api/aiecho", () => "app"));

        var body = await gateway.Client.GetStringAsync(new Uri("/api/aiecho", UriKind.Relative));

        Assert.That(body, Is.EqualTo("app"));
    }
}
