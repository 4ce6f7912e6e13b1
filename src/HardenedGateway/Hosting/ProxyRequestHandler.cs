using HardenedGateway.Forwarding;
using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Hosting;

/// <summary>Turns a matched request into its upstream target and hands it to the pipeline; shared by the middleware and the mapped endpoints.</summary>
internal sealed class ProxyRequestHandler(HardenedProxyRegistry registry, ProxyPipeline pipeline)
{
    public HardenedProxyRegistry Registry => registry;

    /// <summary>Handles the request if its path falls under a proxy prefix; otherwise returns null.</summary>
    public Task? TryHandle(HttpContext context)
    {
        if (registry.Routes.Length == 0)
        {
            return null;
        }

        ForwardingPath.GetRawTarget(context, out var rawPath, out var query);
        if (registry.TryMatch(rawPath, out var upstream))
        {
            return pipeline.InvokeAsync(context, upstream, BuildTarget(upstream, rawPath.AsSpan(upstream.PathPrefix!.Length), query));
        }

        // The raw path may spell the prefix with escapes; the decoded path then decides.
        var decoded = context.Request.Path.Value ?? string.Empty;
        if (!string.Equals(decoded, rawPath, StringComparison.Ordinal) && registry.TryMatch(decoded, out upstream))
        {
            var remainder = new PathString(decoded[upstream.PathPrefix!.Length..]).ToUriComponent();
            return pipeline.InvokeAsync(context, upstream, BuildTarget(upstream, remainder, query));
        }

        return null;
    }

    /// <summary>Handles a request routed to the named proxy's endpoint.</summary>
    public Task HandleEndpoint(HttpContext context, string proxyName)
    {
        if (TryHandle(context) is { } handled)
        {
            return handled;
        }

        // Routing matched on the normalised path but the raw target does not fall under the prefix
        // (for example it climbed out with "..", which Kestrel removed): refuse it.
        if (registry.TryGetUpstream(proxyName, out var upstream))
        {
            return pipeline.InvokeAsync(context, upstream, target: null);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static string? BuildTarget(HardenedUpstream upstream, ReadOnlySpan<char> remainder, string query) =>
        ForwardingPath.ClimbsAboveBase(remainder) ? null : ForwardingPath.BuildTarget(upstream.BaseAddressString, remainder, query);
}
