using System.Net;
using HardenedGateway.Prometheus.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HardenedGateway.Prometheus.Tests.Security;

/// <summary>
/// RS-002, admin surface: the metrics and admin endpoints answer 401 without credentials (or with
/// wrong ones) and 403 without the policy, and those answers tell an attacker nothing: no proxy
/// name, upstream address, metric, state or exception text, and no state is changed.
/// </summary>
[TestFixture]
public sealed class AdminSurfaceSecurityTests
{
    private static readonly (string Method, string Path)[] Endpoints =
    [
        ("GET", "/api/gateway/metrics"),
        ("GET", "/api/gateway/proxies"),
        ("POST", "/api/gateway/proxies/ai/reset"),
        ("POST", "/api/gateway/proxies/%3Cscript%3Ealert(1)%3C%2Fscript%3E/reset"),
        ("GET", "/api/gateway/metrics?name[]=hardened_gateway_requests_total"),
    ];

    private static readonly (string? Token, HttpStatusCode Status)[] Callers =
    [
        (null, HttpStatusCode.Unauthorized),
        ("not-a-token", HttpStatusCode.Unauthorized),
        (TestAuthentication.AdminToken + "x", HttpStatusCode.Unauthorized),
        (TestAuthentication.UserToken, HttpStatusCode.Forbidden),
    ];

    [Test]
    public async Task Endpoints_WithoutCredentialsOrPolicy_Answer401Or403AndRevealNothing()
    {
        await using var scenario = await TestAuthentication.StartScenarioAsync(
            TestAuthentication.RequireSuperuser,
            static app =>
            {
                app.MapHardenedGatewayMetrics();
                app.MapHardenedGatewayAdmin();
            });

        // Give the breaker something to reset: a refused call would otherwise go unnoticed.
        Assert.That(await scenario.GetAsync("/api/ai/x"), Is.EqualTo(200));
        var registry = scenario.Gateway.GetRequiredService<HardenedProxyRegistry>();
        registry.TryGetUpstream("ai", out var ai);
        Assert.That(ai!.CircuitBreaker!.TryAdmit(out var permit), Is.True);
        ai.CircuitBreaker.OnFailure(permit);
        var failuresBefore = ai.CircuitBreaker.ConsecutiveFailures;
        var upstreamAuthority = scenario.Upstream.BaseAddress.Authority;

        foreach (var (method, path) in Endpoints)
        {
            foreach (var (token, expected) in Callers)
            {
                using var request = TestAuthentication.CreateRequest(new HttpMethod(method), path, token);
                using var response = await scenario.Client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                var headers = response.Headers.ToString() + response.Content.Headers;
                var what = $"{method} {path} with {token ?? "no credentials"}";

                Assert.Multiple(() =>
                {
                    Assert.That(response.StatusCode, Is.EqualTo(expected), what);
                    Assert.That(body, Is.Empty, "an error body could leak state: " + what);
                    Assert.That(headers, Does.Not.Contain(upstreamAuthority).And.Not.Contain("X-Circuit-Breaker").And.Not.Contain("hardened_gateway"), what);
                });
            }
        }

        Assert.That(ai.CircuitBreaker.ConsecutiveFailures, Is.EqualTo(failuresBefore), "a refused reset changes nothing");
    }
}
