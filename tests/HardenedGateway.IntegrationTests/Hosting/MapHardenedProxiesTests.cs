using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using HardenedGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HardenedGateway.IntegrationTests.Hosting;

/// <summary><c>app.MapHardenedProxies()</c>: the app places the proxy routes itself and adds conventions such as authorization.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class MapHardenedProxiesTests
{
    private const string Scheme = "Test";

    [Test]
    public async Task MapHardenedProxies_RequireAuthorization_AnonymousGets401AndUpstreamIsNotCalled()
    {
        var hits = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () =>
        {
            Interlocked.Increment(ref hits);
            return "upstream";
        }));
        await using var gateway = await StartMappedAsync(GatewaySettings.Proxy(upstream.BaseAddress));

        using var anonymous = await gateway.Client.GetAsync(new Uri("/api/ai/x", UriKind.Relative));
        using var authorized = await SendAuthorizedAsync(gateway, "/api/ai/x");

        Assert.Multiple(async () =>
        {
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(authorized.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await authorized.Content.ReadAsStringAsync(), Is.EqualTo("upstream"));
            Assert.That(hits, Is.EqualTo(1), "only the authorized request reached the upstream");
        });
    }

    [Test]
    public async Task MapHardenedProxies_PrefixItselfAndRawTarget_AreForwardedAsByTheMiddleware()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.Run(context =>
            context.Response.WriteAsync(context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget)));
        await using var gateway = await StartMappedAsync(GatewaySettings.Proxy(new Uri(upstream.BaseAddress, "/base/")));

        // Raw requests: HttpClient would itself turn %41 into A.
        var prefix = await RawHttp.GetAsync(gateway.BaseAddress, "/api/ai", "Authorization: Test user\r\n");
        var raw = await RawHttp.GetAsync(gateway.BaseAddress, "/api/ai/a%2Fb%41?q=%41", "Authorization: Test user\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(prefix.Body, Is.EqualTo("/base/"));
            Assert.That(raw.Body, Is.EqualTo("/base/a%2Fb%41?q=%41"));
        });
    }

    // Kestrel normalises these to /api/ai/secret, so routing picks the proxy; the raw remainder climbs.
    [TestCase("/api/ai/x/../../ai/secret", 400)]
    [TestCase("/api/ai/%2e%2e/ai/secret", 400)]
    [TestCase("/api/ai/.%2E/ai/secret", 400)]

    // Normalised to /api/secret: routing never sends it to the proxy, so the app answers.
    [TestCase("/api/ai/../secret", 404)]
    public async Task MapHardenedProxies_PathClimbsAboveBase_IsRefusedAndNeverReachesUpstream(string target, int expectedStatus)
    {
        var hits = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.Run(context =>
        {
            Interlocked.Increment(ref hits);
            return context.Response.WriteAsync("upstream");
        }));
        await using var gateway = await StartMappedAsync(GatewaySettings.Proxy(new Uri(upstream.BaseAddress, "/base/")), requireAuthorization: false);

        var response = await RawHttp.GetAsync(gateway.BaseAddress, target);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(expectedStatus), response.Body);
            Assert.That(hits, Is.Zero);
        });
    }

    [Test]
    public async Task MapHardenedProxies_ProxyAddedByReload_GetsAnEndpointWithTheConventions()
    {
        await using var a = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "a"));
        await using var b = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "b"));
        var settings = GatewaySettings.Proxy(a.BaseAddress);
        settings[$"{GatewaySettings.Root}:AutoMapProxies"] = "false";
        await using var gateway = await StartMappedAsync(settings);

        gateway.ReplaceConfiguration(settings.Copy().AddProxy("b", "/api/b", b.BaseAddress));

        Assert.That(await Eventually.HoldsAsync(() => gateway.GetRequiredService<HardenedProxyRegistry>().TryGetUpstream("b", out _)), Is.True);
        using var anonymous = await gateway.Client.GetAsync(new Uri("/api/b/x", UriKind.Relative));
        using var authorized = await SendAuthorizedAsync(gateway, "/api/b/x");
        Assert.Multiple(async () =>
        {
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await authorized.Content.ReadAsStringAsync(), Is.EqualTo("b"));
        });
    }

    [Test]
    public async Task MapHardenedProxies_WhileAutoMapped_Throws()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "upstream"));
        Exception? thrown = null;

        await using var gateway = await TestGateway.StartAsync(
            GatewaySettings.Proxy(upstream.BaseAddress),
            configure: app => thrown = Assert.Throws<InvalidOperationException>(() => app.MapHardenedProxies()));

        Assert.That(thrown?.Message, Does.Contain("AutoMapProxies"));
    }

    private static Task<TestGateway> StartMappedAsync(GatewaySettings settings, bool requireAuthorization = true)
    {
        settings[$"{GatewaySettings.Root}:AutoMapProxies"] = "false";
        return TestGateway.StartAsync(
            settings,
            services: s =>
            {
                s.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(Scheme, null);
                s.AddAuthorization();
            },
            configure: app =>
            {
                var proxies = app.MapHardenedProxies();
                if (requireAuthorization)
                {
                    proxies.RequireAuthorization();
                }
            });
    }

    private static async Task<HttpResponseMessage> SendAuthorizedAsync(TestGateway gateway, string target)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Authorization", "Test user");
        return await gateway.Client.SendAsync(request);
    }

    /// <summary>Authenticates any request carrying <c>Authorization: Test user</c>.</summary>
    private sealed class HeaderAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers.Authorization.ToString() != "Test user")
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "user")], Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}
