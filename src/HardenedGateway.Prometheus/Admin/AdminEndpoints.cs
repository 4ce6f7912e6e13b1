using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Prometheus;

/// <summary>
/// The admin endpoints: every proxy's breaker and limiter state, and a breaker reset (T028). JSON is
/// written with <see cref="Utf8JsonWriter"/>, so nothing depends on reflection-based serialization.
/// </summary>
internal static class AdminEndpoints
{
    public const string NameRouteValue = "name";

    private const string JsonContentType = "application/json; charset=utf-8";
    private const string ProblemContentType = "application/problem+json";

    /// <summary>GET: <c>{"ai": {...}, ...}</c>, every upstream by name.</summary>
    public static RequestDelegate List(HardenedProxyRegistry registry) => context =>
    {
        var response = StartJson(context.Response, StatusCodes.Status200OK, JsonContentType);
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            foreach (var upstream in registry.Upstreams)
            {
                writer.WritePropertyName(upstream.Name);
                WriteUpstream(writer, upstream);
            }

            writer.WriteEndObject();
        }

        return FlushAsync(context);
    };

    /// <summary>POST: resets the named proxy's breaker and answers with its object; 404 problem for an unknown name.</summary>
    public static RequestDelegate Reset(HardenedProxyRegistry registry) => context =>
    {
        var name = context.Request.RouteValues[NameRouteValue] as string;
        if (name is null || !registry.TryGetUpstream(name, out var upstream))
        {
            return WriteNotFoundAsync(context, name ?? string.Empty);
        }

        upstream.CircuitBreaker?.Reset();
        var response = StartJson(context.Response, StatusCodes.Status200OK, JsonContentType);
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            WriteUpstream(writer, upstream);
        }

        return FlushAsync(context);
    };

    /// <summary>Writes one proxy's admin object; the status page's snapshot (<see cref="StatusSnapshotProducer"/>) writes the same
    /// object with the live figures of <paramref name="live"/> first.</summary>
    internal static void WriteUpstream(Utf8JsonWriter writer, HardenedUpstream upstream, ProxyLoadWindow? live = null)
    {
        var breaker = upstream.CircuitBreaker;
        var state = breaker?.State ?? CircuitState.Closed;
        writer.WriteStartObject();
        live?.WriteProperties(writer);
        writer.WriteString("upstream", upstream.BaseAddress?.OriginalString);
        writer.WriteString("circuitState", state switch
        {
            CircuitState.Open => "open",
            CircuitState.HalfOpen => "half-open",
            _ => "closed",
        });
        writer.WriteNumber("consecutiveFailures", breaker?.ConsecutiveFailures ?? 0);
        if (state == CircuitState.Open)
        {
            // As in the 503's Retry-After: whole seconds until half-open, rounded up, at least 1.
            writer.WriteNumber("retryAfterSeconds", Math.Max(1, (int)Math.Ceiling(breaker!.RetryAfter.TotalSeconds)));
        }
        else
        {
            writer.WriteNull("retryAfterSeconds");
        }

        if (upstream.Limiter is { IsEnabled: true } limiter)
        {
            writer.WriteNumber("concurrencyLimit", limiter.MaxConcurrent);
            writer.WriteNumber("concurrencyAvailable", limiter.Available);
            writer.WriteNumber("queueLength", limiter.QueueLength);
        }
        else
        {
            writer.WriteNull("concurrencyLimit");
            writer.WriteNull("concurrencyAvailable");
            writer.WriteNull("queueLength");
        }

        if (upstream.AdmissionGate is { } gate)
        {
            // The cluster budget of a coordination package (HardenedGateway.Redis), read through the core's seam.
            writer.WriteStartObject("cluster");
            writer.WriteNumber("maxConcurrent", upstream.Settings.Cluster.MaxConcurrent);
            writer.WriteNumber("inFlight", gate.ClusterInFlight);
            writer.WriteBoolean("degraded", gate.IsDegraded);
            writer.WriteEndObject();
        }

        if (upstream.Settings.WebSockets is { Enabled: true } webSockets)
        {
            writer.WriteStartObject("tunnels");
            writer.WriteNumber("active", upstream.Metrics.ActiveTunnels);
            writer.WriteNumber("max", webSockets.MaxConnections);
            writer.WriteEndObject();
        }

        if (upstream.Limiter?.GetAdaptiveSnapshot() is { } adaptive)
        {
            writer.WriteStartObject("adaptive");
            writer.WriteNumber("limit", adaptive.Limit);
            writer.WriteNumber("minLimit", adaptive.MinLimit);
            writer.WriteNumber("maxLimit", adaptive.MaxLimit);
            writer.WriteNumber("baselineSeconds", Math.Round(adaptive.BaselineSeconds, 6));
            writer.WriteNumber("recentSeconds", Math.Round(adaptive.RecentSeconds, 6));
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static Task WriteNotFoundAsync(HttpContext context, string name)
    {
        var response = StartJson(context.Response, StatusCodes.Status404NotFound, ProblemContentType);
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "https://tools.ietf.org/html/rfc9110#section-15.5.5");
            writer.WriteString("title", "Not Found");
            writer.WriteNumber("status", StatusCodes.Status404NotFound);
            writer.WriteString("detail", $"No proxy is named '{name}'.");
            writer.WriteString("proxy", name);
            writer.WriteString("traceId", Activity.Current?.Id ?? context.TraceIdentifier);
            writer.WriteEndObject();
        }

        return FlushAsync(context);
    }

    private static HttpResponse StartJson(HttpResponse response, int statusCode, string contentType)
    {
        response.StatusCode = statusCode;
        response.ContentType = contentType;
        response.Headers.CacheControl = "no-store";
        return response;
    }

    private static async Task FlushAsync(HttpContext context) => await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
}
