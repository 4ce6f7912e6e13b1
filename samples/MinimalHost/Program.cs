using System.Security.Cryptography;
using HardenedGateway;
using Microsoft.AspNetCore.Authentication;
using MinimalHost;

var builder = WebApplication.CreateBuilder(args);

// prometheus-net's default .NET collectors (event counters, meters, its own debug series) print counters
// without _total and gauges ending in _count, which `promtool check metrics` rejects. The sample leaves
// them out, keeping the process series, so /api/gateway/metrics is lint-clean; set
// Metrics:IncludeDotNetCollectors=true to keep them. (Call this before anything uses the registry.)
if (!builder.Configuration.GetValue<bool>("Metrics:IncludeDotNetCollectors"))
{
    Prometheus.Metrics.SuppressDefaultMetrics(new Prometheus.SuppressDefaultMetricOptions
    {
        SuppressProcessMetrics = false,
        SuppressDebugMetrics = true,
        SuppressEventCounters = true,
        SuppressMeters = true,
    });
}

// No upstream configured for "ai"? Start the embedded demo AI engine and proxy to it.
WebApplication? demoEngine = null;
if (string.IsNullOrEmpty(builder.Configuration["HardenedGateway:Proxies:ai:Upstream"]))
{
    demoEngine = await DemoAiEngine.StartAsync();
    builder.Configuration["HardenedGateway:Proxies:ai:Upstream"] = demoEngine.Urls.First() + "/";
}

// The one call: /api/ai/* is forwarded to the upstream with a limiter and a breaker (appsettings.json).
builder.Services.AddHardenedProxy(builder.Configuration.GetSection("HardenedGateway"));

// Several replicas in front of one engine? With HardenedGateway:Redis:Configuration set they share one
// budget and one breaker for "ai" (its Cluster settings, docs/replicas.md). Unset: no Redis is needed or contacted.
if (!string.IsNullOrEmpty(builder.Configuration["HardenedGateway:Redis:Configuration"]))
{
    builder.Services.AddHardenedGatewayRedis(builder.Configuration.GetSection("HardenedGateway:Redis"));
}

// The app's own typed client shares the "ai" upstream's limiter, breaker and metrics.
builder.Services.AddHttpClient<AiClient>(client => client.BaseAddress = new Uri(builder.Configuration["HardenedGateway:Proxies:ai:Upstream"]!))
    .AddHardenedHandler("ai");

// Metrics, admin and status-page data endpoints are for the "superuser" policy: Authorization: Bearer <Admin:Token>.
var token = builder.Configuration["Admin:Token"];
if (string.IsNullOrEmpty(token))
{
    token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    Console.WriteLine($"Admin token: {token}");
}

builder.Services.AddSingleton(new AdminToken(token));
builder.Services.AddAuthentication(AdminTokenAuthenticationHandler.SchemeName)
    .AddScheme<AuthenticationSchemeOptions, AdminTokenAuthenticationHandler>(AdminTokenAuthenticationHandler.SchemeName, null);
builder.Services.AddAuthorizationBuilder().AddPolicy("superuser", policy => policy.RequireRole("superuser"));
builder.Services.AddHardenedGatewayPrometheus(options => options.AuthorizationPolicy = "superuser");

// GET /healthz answers Degraded (HTTP 200) while any breaker is open or half-open, or Redis is unavailable (local limits only).
builder.Services.AddHealthChecks().AddHardenedGateway();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();

app.MapHardenedGatewayMetrics();   // GET  /api/gateway/metrics                (superuser)
app.MapHardenedGatewayAdmin();     // GET  /api/gateway/proxies, POST .../{name}/reset (superuser)
app.MapHardenedGatewayStatusPage(); // GET  /api/gateway/status: the live page (sign in with the admin token); its events (superuser)
app.MapHealthChecks("/healthz");

app.MapGet("/", () => Results.Text(
    """
    HardenedGateway sample host
      GET  /api/ai/health                  proxied to the AI engine
      POST /api/ai/generate                {"prompt":"hi","stream":true} -> server-sent events
      GET  /api/ai/slow?ms=2000            a slow answer (try 10 at once: 5 pass, 5 get 429)
      GET  /api/ai/fail                    500 (five in a row open the breaker: 503)
      WS   /api/ai/ws                      WebSocket echo through a tunnel (ws://host/api/ai/ws)
      GET  /api/status                     the app's own typed client, same limiter and breaker
      GET  /api/gateway/metrics            Prometheus metrics   (Authorization: Bearer <admin token>)
      GET  /api/gateway/proxies            breaker and limiter state (same token)
      POST /api/gateway/proxies/ai/reset   close the breaker    (same token)
      GET  /api/gateway/status             live status page in a browser (sign in with the admin token)
      GET  /healthz                        Degraded while a breaker is open or Redis is unavailable
    """));

app.MapGet("/api/status", async (AiClient ai, CancellationToken cancellationToken) =>
{
    try
    {
        return Results.Text(await ai.GetHealthAsync(cancellationToken), "application/json");
    }
    catch (UpstreamRejectedException rejected)
    {
        // The limiter or the breaker refused the call before it was sent.
        return Results.Problem(rejected.Message, statusCode: (int)rejected.StatusCode!, extensions: new Dictionary<string, object?>
        {
            ["retryAfterSeconds"] = (int)Math.Ceiling(rejected.RetryAfter.TotalSeconds),
        });
    }
});

await app.RunAsync();
if (demoEngine is not null)
{
    await demoEngine.DisposeAsync();
}
