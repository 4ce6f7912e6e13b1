using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HardenedGateway.Prometheus;

/// <summary>The status page's two endpoints: the page itself and its server-sent events.</summary>
internal static class StatusEndpoints
{
    private const string HtmlContentType = "text/html; charset=utf-8";
    private const string EventStreamContentType = "text/event-stream";

    /// <summary>GET: the page, pointed at the events under <paramref name="pattern"/> and the admin reset under <paramref name="adminPrefix"/>.</summary>
    public static RequestDelegate Page(StatusPageDocument document, string pattern, string adminPrefix) => context =>
    {
        var pathBase = context.Request.PathBase.Value ?? string.Empty;
        var body = document.Render(
            pathBase + pattern.TrimEnd('/') + "/events",
            pathBase + adminPrefix.TrimEnd('/') + "/proxies/{name}/reset");
        var response = context.Response;
        response.ContentType = HtmlContentType;
        response.ContentLength = body.Length;
        response.Headers.CacheControl = "no-store";
        response.Headers.ContentSecurityPolicy = document.ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    };

    /// <summary>GET: one <c>data: {snapshot}</c> event per interval until the client leaves or the app stops.</summary>
    public static RequestDelegate Events(StatusSnapshotProducer producer, CancellationToken stopping) => async context =>
    {
        var response = context.Response;
        response.ContentType = EventStreamContentType;
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var cancellationToken = cancellation.Token;
        using var subscription = producer.Subscribe();
        long seen = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var snapshot = await producer.NextAsync(seen).WaitAsync(cancellationToken).ConfigureAwait(false);
                seen = snapshot.Sequence;
                await response.Body.WriteAsync(snapshot.Event, cancellationToken).ConfigureAwait(false);
                await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The viewer left, or the app is stopping: the stream simply ends.
        }
    };
}
