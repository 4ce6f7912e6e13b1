using Microsoft.AspNetCore.Http;
using Prometheus;

namespace HardenedGateway.Prometheus;

/// <summary>Serves one scrape of a prometheus-net registry (the app's series and the gateway's) as text format 0.0.4.</summary>
internal static class MetricsEndpoint
{
    public static RequestDelegate Create(CollectorRegistry registry) => context => WriteAsync(context, registry);

    private static async Task WriteAsync(HttpContext context, CollectorRegistry registry)
    {
        var response = context.Response;
        response.ContentType = MetricsCollector.PrometheusContentType;
        response.Headers.CacheControl = "no-store";
        try
        {
            // Always 0.0.4 (DESIGN.md), whatever the scraper's Accept header asks for.
            await registry.CollectAndExportAsTextAsync(response.Body, ExpositionFormat.PrometheusText, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ScrapeFailedException ex) when (!response.HasStarted)
        {
            // A before-collect callback of the app asked to fail this scrape (prometheus-net's convention).
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync(ex.Message, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
