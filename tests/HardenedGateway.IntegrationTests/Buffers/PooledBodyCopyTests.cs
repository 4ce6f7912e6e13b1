using System.Net;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.IntegrationTests.Buffers;

/// <summary>FR-016, FR-017: proxied bodies are copied through the gateway's <see cref="BytesPool"/>, in both directions, and every buffer goes back.</summary>
[TestFixture]
public sealed class PooledBodyCopyTests
{
    [Test]
    public async Task PostWithBody_BothDirectionsRentFromThePool_AndReturnEveryBuffer()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/echo", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "application/octet-stream";
            await ctx.Request.Body.CopyToAsync(ctx.Response.Body);
        }));
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = upstream.BaseAddress.ToString(),
        });
        var pool = gateway.Services.GetRequiredService<BytesPool>();
        var rentedBefore = pool.RentCount;
        var payload = new byte[200_000];
        Random.Shared.NextBytes(payload);

        using var response = await gateway.Client.PostAsync(new Uri("/api/ai/echo", UriKind.Relative), new ByteArrayContent(payload));
        var echoed = await response.Content.ReadAsByteArrayAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(echoed, Is.EqualTo(payload));
            Assert.That(pool.RentCount - rentedBefore, Is.GreaterThanOrEqualTo(2), "one buffer for the upload, one for the download");
            Assert.That(await Eventually.HoldsAsync(() => pool.OutstandingCount == 0), Is.True, "every rented buffer is returned");
        });
    }
}
