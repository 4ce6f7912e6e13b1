using System.Text.RegularExpressions;
using HardenedGateway.BrowserTests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace HardenedGateway.BrowserTests;

/// <summary>
/// UI-001: the status page in a real headless Chromium against a real gateway: it loads without console
/// errors, signs in with a token, shows every proxy, and changes live when a breaker trips and when the
/// reset button is pressed.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class StatusPageBrowserTests
{
    private static readonly LocatorAssertionsToHaveTextOptions Live = new() { Timeout = 10_000 };

    private Browser _browser = null!;
    private StatusGateway _gateway = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _browser = await Browser.LaunchAsync();
        _gateway = await StatusGateway.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
    }

    [SetUp]
    public async Task ResetGatewayAsync()
    {
        _gateway.Failing = false;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/gateway/proxies/ai/reset", UriKind.Relative));
        request.Headers.Authorization = new("Bearer", StatusGateway.AdminToken);
        using var response = await _gateway.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    [Test]
    public async Task Open_NoToken_AsksForTokenWithoutConsoleErrors()
    {
        var errors = new List<string>();
        var page = await _browser.OpenAsync(errors);

        var response = await page.GotoAsync(_gateway.StatusPage.ToString());

        Assert.That(response!.Status, Is.EqualTo(200));
        await Expect(page.Locator("#sign-in")).ToBeVisibleAsync();
        await Expect(page.Locator("#connection")).ToHaveTextAsync("signed out");
        await Expect(page.Locator("[data-proxy]")).ToHaveCountAsync(0);
        Assert.That(errors, Is.Empty, "the page logged errors");
        await page.Context.CloseAsync();
    }

    [Test]
    public async Task SignIn_AdminToken_ShowsEveryProxyLiveAndKeepsTokenForTheTab()
    {
        var errors = new List<string>();
        var page = await SignedInPageAsync(errors);

        foreach (var name in StatusGateway.ProxyNames)
        {
            await Expect(Field(page, name, "circuitState")).ToHaveTextAsync("closed", Live);
        }

        await Expect(page.Locator("[data-proxy]")).ToHaveCountAsync(StatusGateway.ProxyNames.Length);
        await Expect(Field(page, "ai", "inFlight")).ToHaveTextAsync("0 / 4", Live);
        await Expect(Field(page, "embeddings", "inFlight")).ToHaveTextAsync("0 (no limit)", Live);

        // Live: a request through "search" shows up in its rate without a reload.
        Assert.That(await _gateway.GetAsync("/api/search/x"), Is.EqualTo(200));
        await Expect(Field(page, "search", "requestsPerSecond")).Not.ToHaveTextAsync(new Regex("^(–|0\\.0)$"), new() { Timeout = 10_000 });

        Assert.Multiple(async () =>
        {
            Assert.That(await page.EvaluateAsync<string>("sessionStorage.getItem('hardenedGateway.statusToken')"), Is.EqualTo(StatusGateway.AdminToken));
            Assert.That(await page.Locator("#connection").TextContentAsync(), Is.EqualTo("live"));
            Assert.That(errors, Is.Empty, "the page logged errors");
        });
        await page.Context.CloseAsync();
    }

    [Test]
    public async Task BreakerTrips_FailingUpstream_PageShowsOpenLiveThenResetButtonClosesIt()
    {
        var errors = new List<string>();
        var page = await SignedInPageAsync(errors);
        var state = Field(page, "ai", "circuitState");
        await Expect(state).ToHaveTextAsync("closed", Live);

        _gateway.Failing = true;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Assert.That(await _gateway.GetAsync("/api/ai/generate"), Is.EqualTo(500));
        }

        await Expect(state).ToHaveTextAsync("open", Live);
        await Expect(Field(page, "ai", "countdown")).ToHaveTextAsync(HalfOpenCountdown(), Live);
        await Expect(page.Locator("[data-proxy='ai']")).ToHaveAttributeAsync("data-state", "open");
        Assert.That(await _gateway.GetAsync("/api/ai/generate"), Is.EqualTo(503), "the breaker rejects");
        await Expect(Field(page, "ai", "status503PerSecond")).Not.ToHaveTextAsync(new Regex("^(–|0\\.0)$"), new() { Timeout = 10_000 });

        _gateway.Failing = false;
        await page.Locator("[data-proxy='ai'] [data-action='reset']").ClickAsync();

        await Expect(state).ToHaveTextAsync("closed", Live);
        await Expect(Field(page, "ai", "countdown")).ToHaveTextAsync(string.Empty, Live);
        await Expect(Field(page, "ai", "message")).ToContainTextAsync("breaker reset", new() { Timeout = 10_000 });
        Assert.Multiple(async () =>
        {
            Assert.That(await _gateway.GetCircuitStateAsync("ai"), Is.EqualTo("closed"), "the reset reached the gateway");
            Assert.That(await _gateway.GetAsync("/api/ai/generate"), Is.EqualTo(200), "requests flow again");
        });

        // The next snapshots agree: the page stays closed while the events go on.
        var updated = await page.Locator("#updated").TextContentAsync();
        await Expect(page.Locator("#updated")).Not.ToHaveTextAsync(updated!, new() { Timeout = 10_000 });
        await Expect(state).ToHaveTextAsync("closed");
        Assert.That(errors, Is.Empty, "the page logged errors");
        await page.Context.CloseAsync();
    }

    [Test]
    public async Task SignIn_UnknownToken_SaysRejectedAndStaysSignedOut()
    {
        var errors = new List<string>();
        var page = await _browser.OpenAsync(errors);
        await page.GotoAsync(_gateway.StatusPage.ToString());

        await page.FillAsync("#token", "not-a-token");
        await page.ClickAsync("#sign-in button[type=submit]");

        await Expect(page.Locator("#sign-in-error")).ToHaveTextAsync("The token was not accepted (401).", Live);
        await Expect(page.Locator("#sign-in")).ToBeVisibleAsync();
        Assert.That(await page.EvaluateAsync<string?>("sessionStorage.getItem('hardenedGateway.statusToken')"), Is.Null);
        await page.Context.CloseAsync();
    }

    [Test]
    public async Task SignIn_TokenWithoutPolicy_SaysForbidden()
    {
        var errors = new List<string>();
        var page = await _browser.OpenAsync(errors);
        await page.GotoAsync(_gateway.StatusPage.ToString());

        await page.FillAsync("#token", StatusGateway.UserToken);
        await page.ClickAsync("#sign-in button[type=submit]");

        await Expect(page.Locator("#sign-in-error")).ToHaveTextAsync("The token is valid but may not view the status (403).", Live);
        await Expect(page.Locator("[data-proxy]")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    internal static ILocator Field(IPage page, string proxy, string field) => page.Locator($"[data-proxy='{proxy}'] [data-field='{field}']");

    private async Task<IPage> SignedInPageAsync(List<string> errors)
    {
        var page = await _browser.OpenAsync(errors);
        await page.GotoAsync(_gateway.StatusPage.ToString());
        await page.FillAsync("#token", StatusGateway.AdminToken);
        await page.ClickAsync("#sign-in button[type=submit]");
        await Expect(page.Locator("#connection")).ToHaveTextAsync("live", Live);
        await Expect(page.Locator("#sign-in")).ToBeHiddenAsync();
        return page;
    }

    [GeneratedRegex(@"^half-open in \d+ s$")]
    private static partial Regex HalfOpenCountdown();
}
