namespace HardenedGateway.Testing;

/// <summary>
/// Finds the system's Chromium (Debian's package <c>chromium</c>; <c>build/ci-install-tools.sh</c> installs it).
/// The browser tests drive that one and never download a browser. CI sets
/// <c>HARDENED_GATEWAY_REQUIRE_CHROMIUM=1</c>, so there a missing Chromium fails the test; elsewhere the test is
/// ignored with the install instruction. <c>HARDENED_GATEWAY_CHROMIUM</c> points at another executable.
/// </summary>
public static class ChromiumLocator
{
    public const string DefaultPath = "/usr/bin/chromium";

    /// <summary>Gets the path of the Chromium executable; ignores or fails the calling test when there is none.</summary>
    public static string RequirePath()
    {
        var configured = Environment.GetEnvironmentVariable("HARDENED_GATEWAY_CHROMIUM");
        var path = string.IsNullOrEmpty(configured) ? DefaultPath : configured;
        if (File.Exists(path))
        {
            return path;
        }

        var message = $"Chromium was not found at {path}; install Debian's package (apt-get install -y chromium, as build/ci-install-tools.sh does) or set HARDENED_GATEWAY_CHROMIUM.";
        if (Environment.GetEnvironmentVariable("HARDENED_GATEWAY_REQUIRE_CHROMIUM") == "1")
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
        return path;
    }
}
