using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HardenedGateway.BrowserTests.Infrastructure;

/// <summary>
/// A real Kestrel gateway on 127.0.0.1 with the status page, wired like the sample host: the admin and
/// status endpoints need the policy <c>superuser</c>, granted to <c>Authorization: Bearer admin-token</c>;
/// <c>Bearer user-token</c> is signed in without it. Three proxies share one upstream:
/// <c>ai</c> (limiter 4, breaker opening after 3 failures for a minute), <c>search</c> (limiter 8, no
/// breaker) and <c>embeddings</c> (neither). The upstream answers 500 while <see cref="Failing"/> is set,
/// and <c>/slow?ms=N</c> after N ms.
/// </summary>
public sealed class StatusGateway : IAsyncDisposable
{
    public const string AdminToken = "admin-token";
    public const string UserToken = "user-token";
    public static readonly string[] ProxyNames = ["ai", "search", "embeddings"];

    private readonly TestUpstream _upstream;
    private readonly WebApplication _app;
    private volatile bool _failing;

    private StatusGateway(TestUpstream upstream, WebApplication app, Uri baseAddress)
    {
        _upstream = upstream;
        _app = app;
        BaseAddress = baseAddress;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, MaxConnectionsPerServer = 64 })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public Uri BaseAddress { get; }

    public Uri StatusPage => new(BaseAddress, "/api/gateway/status");

    public HttpClient Client { get; }

    /// <summary>Gets or sets a value indicating whether the upstream answers every request with 500.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public static async Task<StatusGateway> StartAsync()
    {
        StatusGateway? gateway = null;
        var upstream = await TestUpstream.StartAsync(app => app.Map("/{**rest}", async (HttpContext context) =>
        {
            if (gateway!.Failing)
            {
                return Results.StatusCode(StatusCodes.Status500InternalServerError);
            }

            if (int.TryParse(context.Request.Query["ms"], out var milliseconds) && milliseconds is > 0 and <= 2_000)
            {
                await Task.Delay(milliseconds, context.RequestAborted);
            }

            return Results.Text("ok");
        }));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var upstreamUri = upstream.BaseAddress.ToString();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HardenedGateway:Proxies:ai:PathPrefix"] = "/api/ai",
            ["HardenedGateway:Proxies:ai:Upstream"] = upstreamUri,
            ["HardenedGateway:Proxies:ai:MaxConcurrent"] = "4",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:Enabled"] = "true",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:FailureThreshold"] = "3",
            ["HardenedGateway:Proxies:ai:CircuitBreaker:RecoveryTimeout"] = "00:01:00",
            ["HardenedGateway:Proxies:search:PathPrefix"] = "/api/search",
            ["HardenedGateway:Proxies:search:Upstream"] = upstreamUri,
            ["HardenedGateway:Proxies:search:MaxConcurrent"] = "8",
            ["HardenedGateway:Proxies:embeddings:PathPrefix"] = "/api/embeddings",
            ["HardenedGateway:Proxies:embeddings:Upstream"] = upstreamUri,
        });
        builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));
        builder.Services.AddAuthentication(BearerTokens.SchemeName).AddScheme<AuthenticationSchemeOptions, BearerTokens>(BearerTokens.SchemeName, null);
        builder.Services.AddAuthorizationBuilder().AddPolicy("superuser", policy => policy.RequireRole("superuser"));
        builder.Services.AddHardenedGatewayPrometheus(options =>
        {
            options.AuthorizationPolicy = "superuser";
            options.Registry = global::Prometheus.Metrics.NewCustomRegistry();
        });

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHardenedGatewayAdmin();
        app.MapHardenedGatewayStatusPage();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await upstream.DisposeAsync();
            throw;
        }

        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        gateway = new StatusGateway(upstream, app, address);
        return gateway;
    }

    /// <summary>Sends a GET through the gateway and returns the status code.</summary>
    public async Task<int> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await Client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        return (int)response.StatusCode;
    }

    /// <summary>Gets a proxy's <c>circuitState</c> from the admin endpoint.</summary>
    public async Task<string?> GetCircuitStateAsync(string proxy)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/gateway/proxies", UriKind.Relative));
        request.Headers.Authorization = new("Bearer", AdminToken);
        using var response = await Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty(proxy).GetProperty("circuitState").GetString();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    /// <summary><c>Bearer admin-token</c>: role <c>superuser</c>; <c>Bearer user-token</c>: signed in without it; anything else fails.</summary>
    private sealed class BearerTokens(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "Bearer";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var header = Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var roles = header["Bearer ".Length..] switch
            {
                AdminToken => new[] { new Claim(ClaimTypes.Role, "superuser") },
                UserToken => [],
                _ => null,
            };
            if (roles is null)
            {
                return Task.FromResult(AuthenticateResult.Fail("Unknown token."));
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "tester"), .. roles], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
