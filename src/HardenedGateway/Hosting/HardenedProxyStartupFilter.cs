using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace HardenedGateway.Hosting;

/// <summary>Maps the proxies automatically, ahead of the app's own middleware, unless the app maps them itself.</summary>
internal sealed class HardenedProxyStartupFilter(HardenedProxyRegistry registry) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (registry.AutoMapProxies)
        {
            app.UseMiddleware<HardenedProxyMiddleware>();
        }

        next(app);
    };
}
