using Microsoft.AspNetCore.Http;

namespace HardenedGateway.Hosting;

/// <summary>Serves the proxy prefixes when <see cref="HardenedProxyOptions.AutoMapProxies"/> is on; placed first in the pipeline by a startup filter.</summary>
internal sealed class HardenedProxyMiddleware(RequestDelegate next, ProxyRequestHandler handler)
{
    public Task InvokeAsync(HttpContext context) => handler.TryHandle(context) ?? next(context);
}
