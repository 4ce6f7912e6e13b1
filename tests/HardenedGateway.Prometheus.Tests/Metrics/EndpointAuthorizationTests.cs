using System.Net;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Metrics;

/// <summary>The metrics and admin endpoints require authorization unless the app opts out explicitly (FR-018).</summary>
[TestFixture]
public sealed class EndpointAuthorizationTests
{
    private static readonly (string Method, string Path)[] Endpoints =
    [
        ("GET", "/api/gateway/metrics"),
        ("GET", "/api/gateway/proxies"),
        ("POST", "/api/gateway/proxies/ai/reset"),
    ];

    [Test]
    public async Task Endpoints_WithPolicy_Answer401WithoutCredentials403WithoutPolicy200WithIt()
    {
        await using var scenario = await StartAsync(options => options.AuthorizationPolicy = TestAuthentication.SuperuserPolicy);

        foreach (var (method, path) in Endpoints)
        {
            Assert.Multiple(async () =>
            {
                Assert.That(await SendAsync(scenario, method, path, token: null), Is.EqualTo(HttpStatusCode.Unauthorized), $"{method} {path} without credentials");
                Assert.That(await SendAsync(scenario, method, path, "not-a-token"), Is.EqualTo(HttpStatusCode.Unauthorized), $"{method} {path} with a bad token");
                Assert.That(await SendAsync(scenario, method, path, TestAuthentication.UserToken), Is.EqualTo(HttpStatusCode.Forbidden), $"{method} {path} without the policy");
                Assert.That(await SendAsync(scenario, method, path, TestAuthentication.AdminToken), Is.EqualTo(HttpStatusCode.OK), $"{method} {path} with the policy");
            });
        }
    }

    [Test]
    public async Task Endpoints_NoPolicyNamed_RequireTheDefaultPolicy()
    {
        await using var scenario = await StartAsync(configure: null);

        foreach (var (method, path) in Endpoints)
        {
            Assert.Multiple(async () =>
            {
                Assert.That(await SendAsync(scenario, method, path, token: null), Is.EqualTo(HttpStatusCode.Unauthorized), $"{method} {path} without credentials");
                Assert.That(await SendAsync(scenario, method, path, TestAuthentication.UserToken), Is.EqualTo(HttpStatusCode.OK), $"{method} {path} authenticated");
            });
        }
    }

    [Test]
    public async Task Endpoints_AllowAnonymousOption_Answer200WithoutCredentials()
    {
        await using var scenario = await StartAsync(options =>
        {
            options.AuthorizationPolicy = TestAuthentication.SuperuserPolicy;
            options.AllowAnonymous = true;
        });

        foreach (var (method, path) in Endpoints)
        {
            Assert.That(await SendAsync(scenario, method, path, token: null), Is.EqualTo(HttpStatusCode.OK), $"{method} {path}");
        }
    }

    [Test]
    public async Task MapHardenedGatewayMetrics_AllowAnonymousOnBuilder_OpensOnlyThatEndpoint()
    {
        await using var scenario = await TestAuthentication.StartScenarioAsync(
            TestAuthentication.RequireSuperuser,
            static app =>
            {
                app.MapHardenedGatewayMetrics().AllowAnonymous();
                app.MapHardenedGatewayAdmin();
            });

        Assert.Multiple(async () =>
        {
            Assert.That(await SendAsync(scenario, "GET", "/api/gateway/metrics", token: null), Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await SendAsync(scenario, "GET", "/api/gateway/proxies", token: null), Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [Test]
    public async Task Endpoints_CustomRoutes_AreMappedThere()
    {
        await using var scenario = await GatewayScenario.StartAsync(
            services => services.AddHardenedGatewayPrometheus(options =>
            {
                options.Registry = PrometheusMetrics.NewCustomRegistry();
                options.AllowAnonymous = true;
            }),
            app =>
            {
                app.MapHardenedGatewayMetrics("/ops/metrics");
                app.MapHardenedGatewayAdmin("/ops");
            });

        Assert.Multiple(async () =>
        {
            Assert.That(await SendAsync(scenario, "GET", "/ops/metrics", token: null), Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await SendAsync(scenario, "GET", "/ops/proxies", token: null), Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await SendAsync(scenario, "GET", "/api/gateway/metrics", token: null), Is.EqualTo(HttpStatusCode.NotFound));
        });
    }

    [Test]
    public void MapHardenedGatewayMetrics_WithoutAddHardenedProxy_ThrowsNamingTheCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapHardenedGatewayMetrics());

        Assert.That(error.Message, Does.Contain("AddHardenedProxy("));
    }

    [Test]
    public async Task MapHardenedGatewayMetrics_WithoutAddHardenedGatewayPrometheus_ServesSecuredDefaults()
    {
        // DESIGN.md's wiring calls only app.MapHardenedGatewayMetrics(); the defaults must apply.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Services.AddHardenedProxy(_ => { });
        builder.Services.AddAuthentication().AddBearerToken();
        builder.Services.AddAuthorization();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHardenedGatewayMetrics();
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

            using var response = await client.GetAsync(new Uri("/api/gateway/metrics", UriKind.Relative));

            Assert.That(response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Unauthorized));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static Task<GatewayScenario> StartAsync(Action<HardenedGatewayPrometheusOptions>? configure) =>
        TestAuthentication.StartScenarioAsync(
            configure,
            static app =>
            {
                app.MapHardenedGatewayMetrics();
                app.MapHardenedGatewayAdmin();
            });

    private static async Task<HttpStatusCode> SendAsync(GatewayScenario scenario, string method, string path, string? token)
    {
        using var request = TestAuthentication.CreateRequest(new HttpMethod(method), path, token);
        using var response = await scenario.Client.SendAsync(request);
        return response.StatusCode;
    }
}
