using System.Net;
using HardenedGateway.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace HardenedGateway.BrowserTests;

/// <summary>
/// The sample host's contract (DESIGN.md, "Sample host additions"), run as its own process: the status page is
/// mapped at /api/gateway/status and a browser signs in with the admin token; /healthz answers Degraded (200)
/// while a breaker is open; /api/gateway/metrics passes <c>promtool check metrics</c> by default.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SampleHostTests
{
    private SampleHostProcess _sample = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _sample = await SampleHostProcess.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_sample is not null)
        {
            await _sample.DisposeAsync();
        }
    }

    [Test]
    public async Task Metrics_Default_PassesPromtoolCheckMetrics()
    {
        using (var health = await _sample.Client.GetAsync(new Uri("/api/ai/health", UriKind.Relative)))
        {
            Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK), "one proxied request, so the gateway's series have samples");
        }

        using var request = _sample.Request(HttpMethod.Get, "/api/gateway/metrics");
        using var response = await _sample.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(text, Does.Contain("hardened_gateway_requests_total{proxy=\"ai\",code=\"200\"}"));
            Assert.That(text, Does.Contain("process_cpu_seconds_total"), "the process series are kept");
        });
        await Promtool.AssertPassesCheckMetricsAsync(text);
    }

    [Test]
    public async Task Healthz_BreakerOpen_AnswersDegradedWith200ThenHealthyAfterReset()
    {
        Assert.That(await GetTextAsync("/healthz"), Is.EqualTo((HttpStatusCode.OK, "Healthy")));

        // appsettings.json: the breaker of "ai" opens after 5 failures in a row.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            Assert.That((await GetTextAsync("/api/ai/fail")).Status, Is.EqualTo(HttpStatusCode.InternalServerError));
        }

        try
        {
            await WaitForAsync(async () => (await GetTextAsync("/healthz")).Body == "Degraded");
            Assert.That(await GetTextAsync("/healthz"), Is.EqualTo((HttpStatusCode.OK, "Degraded")));
        }
        finally
        {
            using var reset = _sample.Request(HttpMethod.Post, "/api/gateway/proxies/ai/reset");
            using var response = await _sample.Client.SendAsync(reset);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(await GetTextAsync("/healthz"), Is.EqualTo((HttpStatusCode.OK, "Healthy")));
    }

    [Test]
    public async Task StatusEvents_WithoutToken_Answers401()
    {
        using var request = _sample.Request(HttpMethod.Get, "/api/gateway/status/events", withToken: false);
        using var response = await _sample.Client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task StatusPage_SignInWithAdminToken_ShowsAiLive()
    {
        await using var browser = await Browser.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.OpenAsync(errors);

        await page.GotoAsync(new Uri(_sample.BaseAddress, "/api/gateway/status").ToString());
        await page.FillAsync("#token", SampleHostProcess.Token);
        await page.ClickAsync("#sign-in button[type=submit]");

        await Expect(page.Locator("#connection")).ToHaveTextAsync("live", new() { Timeout = 10_000 });
        await Expect(StatusPageBrowserTests.Field(page, "ai", "inFlight")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+ / 5$"), new() { Timeout = 10_000 });
        await Expect(StatusPageBrowserTests.Field(page, "ai", "circuitState")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(closed|open|half-open)$"));
        Assert.That(errors, Is.Empty, "the page logged errors");
    }

    private async Task<(HttpStatusCode Status, string Body)> GetTextAsync(string path)
    {
        using var response = await _sample.Client.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            await Task.Delay(20, deadline.Token);
        }
    }
}
