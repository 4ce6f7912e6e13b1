using Microsoft.Playwright;

namespace HardenedGateway.BrowserTests.Infrastructure;

/// <summary>
/// The system's headless Chromium (Debian's package) driven by Playwright: no browser is downloaded.
/// One browser per fixture; each test opens its own context (its own sessionStorage) and page.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser chromium)
    {
        _playwright = playwright;
        Chromium = chromium;
    }

    public IBrowser Chromium { get; }

    /// <summary>Starts Chromium; ignores the test (fails it in CI) when Chromium is not installed.</summary>
    public static async Task<Browser> LaunchAsync()
    {
        var executable = ChromiumLocator.RequirePath();
        var playwright = await Playwright.CreateAsync();
        try
        {
            // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
            var chromium = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = executable, Args = ["--no-sandbox"], Headless = true, Timeout = 60_000 });
            return new Browser(playwright, chromium);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Opens a page in a fresh context that records console errors and uncaught exceptions into <paramref name="errors"/>.</summary>
    public async Task<IPage> OpenAsync(List<string> errors, int width = 1280, int height = 800)
    {
        var context = await Chromium.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height }, Locale = "en-GB", TimezoneId = "UTC" });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(10_000);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add("console: " + message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add("page error: " + error);
            }
        };
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
