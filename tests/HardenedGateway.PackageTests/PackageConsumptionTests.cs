using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.PackageTests;

/// <summary>
/// Proves the README's quick start true of the packages: both packages are packed into a local
/// folder feed, a fresh web app outside the solution references them by package and is wired with
/// the README's own code blocks, and it proxies to a real upstream and secures its metrics endpoint.
/// </summary>
/// <remarks>
/// Runs <c>dotnet pack</c>, <c>dotnet build</c> and the app as child processes, each bounded by a
/// timeout (killed on expiry). The package version is unique per run, so the machine's package cache
/// is reused without ever serving a stale build; that version is removed from the cache afterwards.
/// Exclude it locally with <c>dotnet test --filter TestCategory!=Package</c>.
/// </remarks>
[TestFixture]
[Category("Package")]
[NonParallelizable]
public sealed partial class PackageConsumptionTests
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);
    private static readonly string[] PackageIds = ["HardenedGateway", "HardenedGateway.Prometheus", "HardenedGateway.Redis"];

    private string _workspace = null!;
    private string _version = null!;

    [SetUp]
    public void SetUp()
    {
        _workspace = Directory.CreateTempSubdirectory("hardened-gateway-package-test-").FullName;
        _version = "0.0.0-test." + TimeProvider.System.GetUtcNow().ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
    }

    [TearDown]
    public void TearDown()
    {
        TryDelete(_workspace);
        foreach (var id in PackageIds)
        {
            var packageFolder = Path.Combine(GlobalPackagesFolder(), id.ToLowerInvariant());
            TryDelete(Path.Combine(packageFolder, _version));
            if (Directory.Exists(packageFolder) && !Directory.EnumerateFileSystemEntries(packageFolder).Any())
            {
                TryDelete(packageFolder);
            }
        }
    }

    [Test]
    [CancelAfter(10 * 60 * 1000)]
    public async Task QuickStartApp_ReferencingPackedPackages_ProxiesAndSecuresMetrics(CancellationToken cancellationToken)
    {
        // Arrange: the packages, in a local folder feed.
        var feed = Directory.CreateDirectory(Path.Combine(_workspace, "feed")).FullName;
        var buildOutput = Path.Combine(_workspace, "artifacts");
        foreach (var id in PackageIds)
        {
            await ChildProcess.RunAsync(
                ChildProcess.DotnetHost,
                ["pack", RepositoryLayout.PathOf("src", id, id + ".csproj"), "-c", "Release", "-o", feed, "--artifacts-path", buildOutput, "-p:Version=" + _version, "--disable-build-servers"],
                RepositoryLayout.Root,
                BuildTimeout,
                cancellationToken);
        }

        Assert.That(
            Directory.GetFiles(feed).Select(Path.GetFileName),
            Is.SupersetOf(PackageIds.SelectMany(id => new[] { $"{id}.{_version}.nupkg", $"{id}.{_version}.snupkg" })));

        AssertRedisPackageContents(Path.Combine(feed, $"HardenedGateway.Redis.{_version}.nupkg"));

        // Arrange: a fresh app outside the solution, from the README's quick start.
        var app = WriteConsumerApp(feed);
        await ChildProcess.RunAsync(ChildProcess.DotnetHost, ["build", "-c", "Release", "--disable-build-servers"], app, BuildTimeout, cancellationToken);

        await using var upstream = await StartUpstreamAsync();
        await using var gateway = ChildProcess.Start(
            ChildProcess.DotnetHost,
            [Path.Combine(app, "bin", "Release", "net10.0", "ConsumerApp.dll"), "--urls", "http://127.0.0.1:0"],
            Path.Combine(app, "bin", "Release", "net10.0"),
            new Dictionary<string, string> { ["HardenedGateway__Proxies__ai__Upstream"] = upstream.BaseAddress });
        var listening = await gateway.WaitForLineAsync(static line => ListeningLine().IsMatch(line), StartTimeout, cancellationToken);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(ListeningLine().Match(listening).Groups["address"].Value),
            Timeout = RequestTimeout,
        };

        // Act
        using var proxied = await client.GetAsync(new Uri("/api/ai/health?probe=1", UriKind.Relative), cancellationToken);
        var proxiedBody = await proxied.Content.ReadAsStringAsync(cancellationToken);
        using var metrics = await client.GetAsync(new Uri("/api/gateway/metrics", UriKind.Relative), cancellationToken);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(proxied.StatusCode, Is.EqualTo(HttpStatusCode.OK), gateway.Output);
            Assert.That(proxiedBody, Is.EqualTo("upstream saw /health?probe=1"));
            Assert.That(metrics.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), gateway.Output);
        });
    }

    /// <summary>The satellite packs like the others: README, XML docs, and its dependencies on the core (same version) and StackExchange.Redis.</summary>
    private void AssertRedisPackageContents(string package)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        var entries = zip.Entries.Select(static e => e.FullName).ToList();
        var nuspecEntry = zip.Entries.Single(static e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var reader = new StreamReader(nuspecEntry.Open());
        var nuspec = reader.ReadToEnd();
        Assert.Multiple(() =>
        {
            Assert.That(entries, Does.Contain("README.md"));
            Assert.That(entries, Does.Contain("lib/net10.0/HardenedGateway.Redis.dll"));
            Assert.That(entries, Does.Contain("lib/net10.0/HardenedGateway.Redis.xml"));
            Assert.That(nuspec, Does.Contain($"<dependency id=\"HardenedGateway\" version=\"{_version}\""));
            Assert.That(nuspec, Does.Contain("<dependency id=\"StackExchange.Redis\" version=\"3.4.35\""));
            Assert.That(nuspec, Does.Contain("<license type=\"expression\">MIT</license>"));
        });
    }

    /// <summary>Writes the consumer app: the README's Program.cs and appsettings.json, a project that references the packages, and a nuget.config that adds the local feed.</summary>
    private string WriteConsumerApp(string feed)
    {
        var readme = File.ReadAllText(RepositoryLayout.PathOf("README.md"));
        var app = Directory.CreateDirectory(Path.Combine(_workspace, "app", "ConsumerApp")).FullName;

        // Stop MSBuild's and NuGet's upward search here, whatever lies above the temporary folder.
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            File.WriteAllText(Path.Combine(_workspace, "app", file), "<Project />\n");
        }

        File.WriteAllText(Path.Combine(app, "Program.cs"), ReadmeSnippets.Get(readme, "Program.cs") + "\n");
        File.WriteAllText(Path.Combine(app, "appsettings.json"), ReadmeSnippets.Get(readme, "appsettings.json") + "\n");
        File.WriteAllText(Path.Combine(app, "ConsumerApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="HardenedGateway" Version="{_version}" />
                <PackageReference Include="HardenedGateway.Prometheus" Version="{_version}" />
              </ItemGroup>
            </Project>

            """);

        // No <clear/>: the machine's default source (key "nuget.org", from the user-level config) stays
        // for third-party packages; only HardenedGateway packages come from the local folder feed.
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="hardened-gateway-local" value="{feed}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="hardened-gateway-local">
                  <package pattern="HardenedGateway*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>

            """);
        return app;
    }

    /// <summary>A tiny upstream in the test process on 127.0.0.1 with a free port.</summary>
    private static async Task<Upstream> StartUpstreamAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var web = builder.Build();
        web.MapGet("/{**rest}", static (HttpContext context) => Results.Text($"upstream saw {context.Request.Path}{context.Request.QueryString}"));
        await web.StartAsync();
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Upstream(web, address.TrimEnd('/') + "/");
    }

    private static string GlobalPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException error)
        {
            TestContext.Out.WriteLine($"Could not delete {directory}: {error.Message}");
        }
        catch (UnauthorizedAccessException error)
        {
            TestContext.Out.WriteLine($"Could not delete {directory}: {error.Message}");
        }
    }

    [GeneratedRegex(@"Now listening on: (?<address>http://127\.0\.0\.1:\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex ListeningLine();

    private sealed class Upstream(WebApplication app, string baseAddress) : IAsyncDisposable
    {
        public string BaseAddress { get; } = baseAddress;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
