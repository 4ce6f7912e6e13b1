using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PrometheusMetrics = Prometheus.Metrics;

namespace HardenedGateway.Prometheus.Tests.Infrastructure;

/// <summary>
/// A trivial bearer scheme: <c>Authorization: Bearer admin-token</c> is a user in role <c>superuser</c>,
/// <c>Bearer user-token</c> an authenticated user without it; anything else is not authenticated.
/// </summary>
public sealed class TestAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "TestBearer";
    public const string SuperuserPolicy = "superuser";
    public const string AdminToken = "admin-token";
    public const string UserToken = "user-token";

    /// <summary>Registers the scheme (as the default) and the <c>superuser</c> policy.</summary>
    public static void AddTo(IServiceCollection services)
    {
        services.AddAuthentication(SchemeName).AddScheme<AuthenticationSchemeOptions, TestAuthentication>(SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(SuperuserPolicy, policy => policy.RequireRole("superuser"));
    }

    /// <summary>Places the authentication and authorization middleware.</summary>
    public static void Use(WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
    }

    /// <summary>
    /// Starts a <see cref="GatewayScenario"/> with this scheme, the Prometheus bridge on a registry of its own
    /// (then <paramref name="configure"/>), and the authentication and authorization middleware placed before <paramref name="map"/>.
    /// </summary>
    public static Task<GatewayScenario> StartScenarioAsync(Action<HardenedGatewayPrometheusOptions>? configure, Action<WebApplication> map) =>
        GatewayScenario.StartAsync(
            services =>
            {
                AddTo(services);
                services.AddHardenedGatewayPrometheus(options =>
                {
                    options.Registry = PrometheusMetrics.NewCustomRegistry();
                    configure?.Invoke(options);
                });
            },
            app =>
            {
                Use(app);
                map(app);
            });

    /// <summary>Requires the <c>superuser</c> policy on the metrics and admin endpoints.</summary>
    public static void RequireSuperuser(HardenedGatewayPrometheusOptions options) => options.AuthorizationPolicy = SuperuserPolicy;

    public static HttpRequestMessage CreateRequest(HttpMethod method, string path, string? token)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        return request;
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var token = header["Bearer ".Length..];
        var claims = token switch
        {
            AdminToken => new[] { new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, "superuser") },
            UserToken => new[] { new Claim(ClaimTypes.Name, "user") },
            _ => null,
        };

        if (claims is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("unknown token"));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }
}
