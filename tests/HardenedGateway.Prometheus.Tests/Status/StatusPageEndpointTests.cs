using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Prometheus.Tests.Status;

/// <summary>
/// <c>MapHardenedGatewayStatusPage</c> over real sockets (UI-001): the events are secured like the admin
/// endpoints, stream one JSON snapshot a second naming every proxy, and the page is one self-contained
/// document that loads nothing from elsewhere.
/// </summary>
[TestFixture]
public sealed partial class StatusPageEndpointTests
{
    [Test]
    public async Task Events_NoCredentials_Returns401()
    {
        await using var scenario = await StartAsync();

        Assert.That(await scenario.GetAsync("/api/gateway/status/events"), Is.EqualTo(401));
    }

    [Test]
    public async Task Events_CredentialsWithoutPolicy_Returns403()
    {
        await using var scenario = await StartAsync();

        Assert.That(await scenario.GetAsync("/api/gateway/status/events", TestAuthentication.UserToken), Is.EqualTo(403));
    }

    [Test]
    public async Task Events_AdminToken_StreamsAJsonSnapshotEverySecondNamingEveryProxy()
    {
        await using var scenario = await StartAsync();
        using var request = TestAuthentication.CreateRequest(HttpMethod.Get, "/api/gateway/status/events", TestAuthentication.AdminToken);
        using var response = await scenario.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var first = await ReadEventAsync(reader);
        var second = await ReadEventAsync(reader);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(second.GetProperty("sequence").GetInt64(), Is.EqualTo(first.GetProperty("sequence").GetInt64() + 1));
            var gap = second.GetProperty("time").GetDateTimeOffset() - first.GetProperty("time").GetDateTimeOffset();
            Assert.That(gap, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(1.5)), "at least one event a second");
            Assert.That(second.GetProperty("windowSeconds").GetDouble(), Is.EqualTo(10));
            var proxies = second.GetProperty("proxies");
            Assert.That(proxies.EnumerateObject().Select(proxy => proxy.Name), Is.EquivalentTo(new[] { "ai", "plain", "down" }));
            foreach (var proxy in proxies.EnumerateObject())
            {
                Assert.That(proxy.Value.GetProperty("circuitState").GetString(), Is.AnyOf("closed", "open", "half-open"), proxy.Name);
                Assert.That(proxy.Value.GetProperty("requestsPerSecond").ValueKind, Is.EqualTo(JsonValueKind.Number), proxy.Name);
            }
        });
    }

    [Test]
    public async Task Page_Anonymous_SelfContainedHtmlAllowedOnlyItsOwnInlineCode()
    {
        await using var scenario = await StartAsync();

        using var response = await scenario.Client.GetAsync(new Uri("/api/gateway/status", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the page holds no data: a browser gets it without credentials");
            Assert.That(response.Content.Headers.ContentType, Is.EqualTo(MediaTypeHeaderValue.Parse("text/html; charset=utf-8")));
            Assert.That(ExternalReference().Matches(html), Is.Empty, "no script, style, font or image from elsewhere");
            Assert.That(html, Does.Contain("data-events-url=\"/api/gateway/status/events\""));
            Assert.That(html, Does.Contain("data-reset-url=\"/api/gateway/proxies/{name}/reset\""));
            Assert.That(policy, Does.StartWith("default-src 'none'; "));
            Assert.That(policy, Does.Contain("connect-src 'self'"));
            Assert.That(policy, Does.Contain($"script-src '{InlineHash(html, "script")}'"));
            Assert.That(policy, Does.Contain($"style-src '{InlineHash(html, "style")}'"));
        });
    }

    private static string InlineHash(string html, string element)
    {
        var start = html.IndexOf($"<{element}>", StringComparison.Ordinal) + element.Length + 2;
        var end = html.IndexOf($"</{element}>", start, StringComparison.Ordinal);
        return "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(html[start..end])));
    }

    private static async Task<JsonElement> ReadEventAsync(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new AssertionException("the stream ended");
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                using var json = JsonDocument.Parse(line["data: ".Length..]);
                return json.RootElement.Clone();
            }
        }
    }

    private static Task<GatewayScenario> StartAsync() =>
        TestAuthentication.StartScenarioAsync(
            TestAuthentication.RequireSuperuser,
            static app =>
            {
                app.MapHardenedGatewayAdmin();
                app.MapHardenedGatewayStatusPage();
            });

    [GeneratedRegex(@"(src|href)\s*=\s*[""']?\s*(https?:|//)|@import|url\(\s*[""']?(https?:|//)", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();
}
