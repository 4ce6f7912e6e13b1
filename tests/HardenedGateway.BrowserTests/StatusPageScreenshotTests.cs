using System.Text.RegularExpressions;
using HardenedGateway.BrowserTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace HardenedGateway.BrowserTests;

/// <summary>
/// Takes the screenshot of the docs (<c>docs/images/status-page.png</c>): the page under real load, with one
/// breaker open. The image is written into docs/ only when <c>HARDENED_GATEWAY_UPDATE_SCREENSHOTS=1</c>, so an
/// ordinary run leaves the clone unchanged; otherwise it goes to the test's work folder.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class StatusPageScreenshotTests
{
    [Test]
    public async Task Screenshot_LoadAndOneBreakerOpen_ShowsRatesLatencyAndOpenState()
    {
        await using var browser = await Browser.LaunchAsync();
        await using var gateway = await StatusGateway.StartAsync();
        var errors = new List<string>();
        var page = await browser.OpenAsync(errors, width: 1280, height: 400);
        await page.GotoAsync(gateway.StatusPage.ToString());
        await page.FillAsync("#token", StatusGateway.AdminToken);
        await page.ClickAsync("#sign-in button[type=submit]");
        await Expect(page.Locator("#connection")).ToHaveTextAsync("live", new() { Timeout = 10_000 });

        // Trip "ai", then keep knocking (503s); load "search" past its limit of 8 (429s) and "embeddings" lightly.
        gateway.Failing = true;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Assert.That(await gateway.GetAsync("/api/ai/generate"), Is.EqualTo(500));
        }

        gateway.Failing = false;
        using var load = new CancellationTokenSource(TimeSpan.FromSeconds(12));
        var workers = new List<Task>();
        for (var worker = 0; worker < 10; worker++)
        {
            workers.Add(LoadAsync(gateway, "/api/search/slow?ms=", 60, 400, worker, load.Token));
        }

        workers.Add(LoadAsync(gateway, "/api/embeddings/slow?ms=", 5, 40, 100, load.Token));
        workers.Add(LoadAsync(gateway, "/api/ai/generate?ms=", 150, 250, 200, load.Token));

        try
        {
            var slow = new Microsoft.Playwright.LocatorAssertionsToHaveTextOptions { Timeout = 10_000 };
            await Expect(StatusPageBrowserTests.Field(page, "ai", "circuitState")).ToHaveTextAsync("open", slow);
            await Expect(StatusPageBrowserTests.Field(page, "search", "status429PerSecond")).Not.ToHaveTextAsync(new Regex("^(–|0\\.0)$"), new() { Timeout = 10_000 });
            await Expect(StatusPageBrowserTests.Field(page, "embeddings", "p99Seconds")).Not.ToHaveTextAsync("–", new() { Timeout = 10_000 });

            // A few seconds of history for the sparklines.
            await Expect(page.Locator("[data-proxy='search'] polyline")).ToHaveAttributeAsync("points", new Regex(@"^(\S+ ){4,}\S+$"), new() { Timeout = 10_000 });

            var path = Environment.GetEnvironmentVariable("HARDENED_GATEWAY_UPDATE_SCREENSHOTS") == "1"
                ? Path.Combine(RepositoryPaths.Root, "docs", "images", "status-page.png")
                : Path.Combine(TestContext.CurrentContext.WorkDirectory, "status-page.png");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await page.ScreenshotAsync(new() { Path = path, FullPage = true });
            TestContext.AddTestAttachment(path, "the status page under load, breaker of 'ai' open");

            var bytes = await File.ReadAllBytesAsync(path);
            Assert.Multiple(() =>
            {
                Assert.That(bytes.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
                Assert.That(bytes, Has.Length.GreaterThan(10_000), "a real picture, not a blank page");
                Assert.That(errors, Is.Empty, "the page logged errors");
            });
        }
        finally
        {
            await load.CancelAsync();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task LoadAsync(StatusGateway gateway, string path, int minMs, int maxMs, int seed, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var status = await gateway.GetAsync(path + random.Next(minMs, maxMs), cancellationToken);
                if (status != 200)
                {
                    // Rejected (429/503) at once: pace the retries as a client honouring Retry-After loosely would.
                    await Task.Delay(random.Next(50, 150), cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
