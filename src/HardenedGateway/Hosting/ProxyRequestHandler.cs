using HardenedGateway.Forwarding;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HardenedGateway.Hosting;

/// <summary>Turns a matched request into its upstream target and hands it to the pipeline; shared by the middleware and the mapped endpoints.</summary>
internal sealed class ProxyRequestHandler(HardenedProxyRegistry registry, ProxyPipeline pipeline)
{
    public HardenedProxyRegistry Registry => registry;

    /// <summary>Handles the request if its path falls under a proxy prefix; otherwise returns null.</summary>
    /// <remarks>
    /// Runs for every request of the app, so a request outside every prefix costs two prefix scans and
    /// allocates nothing; strings are built only for a matched request whose target its proxy has not built recently (<see cref="TargetCache"/>).
    /// </remarks>
    public Task? TryHandle(HttpContext context)
    {
        if (registry.Routes.Length == 0)
        {
            return null;
        }

        // The raw target, as received: its remainder is forwarded without decoding and re-encoding.
        // Absolute-form targets and a PathBase the app strips leave only the decoded path to go by.
        var decoded = context.Request.Path.Value ?? string.Empty;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (!string.IsNullOrEmpty(rawTarget) && rawTarget[0] == '/' && !context.Request.PathBase.HasValue)
        {
            var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
            var rawPath = queryStart < 0 ? rawTarget.AsSpan() : rawTarget.AsSpan(0, queryStart);
            if (registry.TryMatch(rawPath, out var matched))
            {
                var query = queryStart < 0 ? ReadOnlySpan<char>.Empty : rawTarget.AsSpan(queryStart);
                return pipeline.InvokeAsync(context, matched, BuildTarget(matched, rawPath[matched.PathPrefix!.Length..], query));
            }

            if (rawPath.SequenceEqual(decoded))
            {
                return null;
            }
        }

        // The raw path may spell the prefix with escapes (or be unavailable); the decoded path then decides.
        if (registry.TryMatch(decoded, out var upstream))
        {
            var remainder = new PathString(decoded[upstream.PathPrefix!.Length..]).ToUriComponent();
            return pipeline.InvokeAsync(context, upstream, BuildTarget(upstream, remainder, context.Request.QueryString.Value));
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

    private static string? BuildTarget(HardenedUpstream upstream, ReadOnlySpan<char> remainder, ReadOnlySpan<char> query) =>
        ForwardingPath.ClimbsAboveBase(remainder) ? null : upstream.Targets.Build(remainder, query);
}
